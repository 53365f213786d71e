/* §2 framing and §4 TLV: the spec's worked examples byte for byte, and a
 * negative case for every drop / malformed rule. */
#include <string.h>

#include "check.h"
#include "crc32.h"
#include "frame.h"
#include "tlv.h"
#include "unit.h"

static void check_frame(const uint8_t *payload, size_t n, const uint8_t *want, size_t wn)
{
	uint8_t out[DL_MAX_FRAME], back[DL_MAX_RAW];
	int k = dl_frame_encode(payload, n, out, sizeof out);
	CHECK_EQ(k, (long long)wn);
	CHECK(k == (int)wn && memcmp(out, want, wn) == 0);
	CHECK_EQ(dl_frame_decode(want + 1, wn - 2, back), (long long)n);
	CHECK(memcmp(back, payload, n) == 0);
}

void test_frames(void)
{
	CHECK_EQ(dl_crc32_update(0, "123456789", 9), 0xCBF43926u);
	/* §9 IDENTIFY request, LOCK request, LOCK reply */
	static const uint8_t p1[] = {1, 1, 0, 0, 1, 0, 0, 0, 0, 0};
	static const uint8_t f1[] = {0x00, 0x03, 0x01, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01,
				     0x05, 0xAE, 0xC4, 0x6F, 0xD0, 0x00};
	check_frame(p1, sizeof p1, f1, sizeof f1);
	static const uint8_t p2[] = {1, 7, 0, 0, 0x2A, 0, 0, 0, 4, 0, 1, 1, 0, 2};
	static const uint8_t f2[] = {0x00, 0x03, 0x01, 0x07, 0x01, 0x02, 0x2A, 0x01, 0x01, 0x02, 0x04,
				     0x03, 0x01, 0x01, 0x06, 0x02, 0x98, 0x23, 0x59, 0xA5, 0x00};
	check_frame(p2, sizeof p2, f2, sizeof f2);
	static const uint8_t p3[] = {1, 7, 1, 0, 0x2A, 0, 0, 0, 0x10, 0, 1, 1, 0, 2, 2, 1, 0, 0,
				     3, 1, 0, 3, 4, 1, 0, 3};
	static const uint8_t f3[] = {0x00, 0x04, 0x01, 0x07, 0x01, 0x02, 0x2A, 0x01, 0x01, 0x02, 0x10,
				     0x03, 0x01, 0x01, 0x04, 0x02, 0x02, 0x01, 0x01, 0x03, 0x03, 0x01,
				     0x04, 0x03, 0x04, 0x01, 0x06, 0x03, 0x41, 0xC4, 0x20, 0x14, 0x00};
	check_frame(p3, sizeof p3, f3, sizeof f3);

	/* A longest payload round-trips; one byte more does not encode. */
	static uint8_t big[DL_MAX_PAYLOAD + 1], out[DL_MAX_FRAME + 8], back[DL_MAX_RAW];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i % 7 == 0 ? 0 : i);
	int k = dl_frame_encode(big, DL_MAX_PAYLOAD, out, sizeof out);
	CHECK(k > 0 && (size_t)k <= DL_MAX_FRAME);
	CHECK_EQ(dl_frame_decode(out + 1, (size_t)k - 2, back), DL_MAX_PAYLOAD);
	CHECK_EQ(dl_frame_encode(big, DL_MAX_PAYLOAD + 1, out, sizeof out), DL_ERR_TOO_LARGE);

	/* Drops (§2.3): bad CRC, bad COBS, too short. */
	uint8_t bad[sizeof f1];
	memcpy(bad, f1, sizeof f1);
	bad[12] ^= 1;
	CHECK_EQ(dl_frame_decode(bad + 1, sizeof bad - 2, back), DL_ERR_CRC);
	static const uint8_t cobs_past_end[] = {0x09, 0x01, 0x02};
	CHECK_EQ(dl_frame_decode(cobs_past_end, sizeof cobs_past_end, back), DL_ERR_MALFORMED);
	static const uint8_t short_frame[] = {0x01, 0x01, 0x01, 0x01};
	CHECK_EQ(dl_frame_decode(short_frame, sizeof short_frame, back), DL_ERR_MALFORMED);

	/* The deframer: noise, an overflow, then a good frame. */
	static struct dl_deframer d;
	int got = 0, dropped = 0;
	memset(&d, 0, sizeof d);
	for (int i = 0; i < 2000; i++) { /* no delimiter for 2000 bytes */
		int r = dl_deframer_push(&d, 0x55);
		CHECK_EQ(r, 0);
	}
	dropped += dl_deframer_push(&d, 0x00) < 0;
	for (size_t i = 0; i < sizeof f1; i++) {
		int r = dl_deframer_push(&d, f1[i]);
		got += r == 1;
	}
	CHECK_EQ(dropped, 1);
	CHECK_EQ(got, 1);
	CHECK(d.payload_len == sizeof p1 && memcmp(d.payload, p1, sizeof p1) == 0);
}

static const struct dl_field spec[] = {
	{0x01, 1, 1, 1, 0, "item"},
	{0x02, 4, 4, 0, 0, "total"},
	{0x09, 2, 3, 0, 1, "digest"},
};

static int parse(const uint8_t *b, size_t n)
{
	struct dl_tlv_value v[3];
	char why[DL_MAX_DETAIL + 1];
	return dl_tlv_parse(b, n, spec, 3, v, why);
}

void test_tlv(void)
{
	static const uint8_t ok[] = {0x01, 1, 0, 7, 0x09, 2, 0, 1, 2, 0x09, 3, 0, 1, 2, 3, 0x90, 1, 0, 0xAA};
	struct dl_tlv_value v[3];
	char why[DL_MAX_DETAIL + 1];
	CHECK_EQ(dl_tlv_parse(ok, sizeof ok, spec, 3, v, why), DL_OK);
	CHECK(v[0].p && v[0].p[0] == 7 && v[1].p == NULL && v[2].count == 2);
	static const uint8_t unknown_critical[] = {0x01, 1, 0, 7, 0x05, 0, 0};
	CHECK_EQ(parse(unknown_critical, sizeof unknown_critical), DL_ERR_MALFORMED);
	static const uint8_t duplicate[] = {0x01, 1, 0, 7, 0x01, 1, 0, 7};
	CHECK_EQ(parse(duplicate, sizeof duplicate), DL_ERR_MALFORMED);
	static const uint8_t missing[] = {0x02, 4, 0, 1, 2, 3, 4};
	CHECK_EQ(parse(missing, sizeof missing), DL_ERR_MALFORMED);
	static const uint8_t bounds[] = {0x01, 2, 0, 7, 7};
	CHECK_EQ(parse(bounds, sizeof bounds), DL_ERR_MALFORMED);
	static const uint8_t past_end[] = {0x01, 5, 0, 7};
	CHECK_EQ(parse(past_end, sizeof past_end), DL_ERR_MALFORMED);
	static const uint8_t trailing[] = {0x01, 1, 0, 7, 0x02, 4};
	CHECK_EQ(parse(trailing, sizeof trailing), DL_ERR_MALFORMED);

	uint8_t buf[8];
	struct dl_tlv_writer w = {buf, sizeof buf, 0, 0};
	dl_tlv_u8(&w, 1, 2);
	CHECK_EQ(dl_tlv_done(&w), 4);
	dl_tlv_u32(&w, 2, 3); /* 7 more bytes do not fit */
	CHECK_EQ(dl_tlv_done(&w), DL_ERR_TOO_LARGE);
}

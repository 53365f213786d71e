/* libFuzzer target: the frame + TLV decoders and the module behind them.
 * Every input is fed to a deframer byte by byte (so delimiters, overflow and
 * bad COBS/CRC paths run), decoded directly as one encoded frame, parsed as a
 * TLV body against a request table, and, as a payload, handed to a module on
 * the in-memory HAL (header checks, the reply cache, every command's parser).
 * A reply must always be a well-formed frame. */
#include <string.h>

#include "efuse.h"
#include "frame.h"
#include "hal_mem.h"
#include "module.h"
#include "tlv.h"

static struct dl_module mod;
static struct dl_deframer df;
static int ready;

static const struct dl_field spec[] = {
	{0x01, 1, 1, 1, 0, "item"}, {0x02, 4, 4, 1, 0, "total"}, {0x09, 37, 37, 0, 1, "digest"},
};

static void setup(void)
{
	static const uint8_t mac[6] = {2, 0xDA, 0xC1, 0, 0, 1};
	struct dl_module_options o = {"ESP32-C3", "fuzz", DL_KEY_PLAINTEXT};
	static uint8_t sink[65536];
	hal_mem_reset();
	dl_efuse_set_mac(mac);
	if (dl_module_init(&mod, &o) != DL_OK || dl_module_start(&mod) != DL_OK)
		__builtin_trap();
	hal_mem_uart_output(sink, sizeof sink);
	ready = 1;
}

static void check_reply(const uint8_t *f, int k)
{
	uint8_t raw[DL_MAX_RAW];
	if (k <= 0)
		return;
	if (k < 2 || f[0] != 0 || f[k - 1] != 0 || dl_frame_decode(f + 1, (size_t)k - 2, raw) < (int)DL_HEADER_LEN)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DL_MAX_FRAME], raw[DL_MAX_RAW];
	struct dl_tlv_value v[3];
	char why[DL_MAX_DETAIL + 1];
	if (!ready)
		setup();
	for (size_t i = 0; i < size; i++)
		if (dl_deframer_push(&df, data[i]) == 1)
			check_reply(out, dl_module_handle_payload(&mod, df.payload, df.payload_len, out, sizeof out));
	(void)dl_frame_decode(data, size, raw);
	(void)dl_tlv_parse(data, size, spec, 3, v, why);
	if (size <= DL_MAX_PAYLOAD)
		check_reply(out, dl_module_handle_payload(&mod, data, size, out, sizeof out));
	return 0;
}

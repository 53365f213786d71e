/*
 * frame.h — §2 framing: 0x00 ‖ COBS(payload ‖ CRC32(payload) LE) ‖ 0x00.
 *
 * dl_frame_encode writes one whole frame (both delimiters) into out
 * (capacity cap ≥ DL_MAX_FRAME for any payload ≤ DL_MAX_PAYLOAD) and returns
 * its length, or DL_ERR_TOO_LARGE (payload over the limit or out too small;
 * out is then unspecified).
 *
 * struct dl_deframer collects received bytes (the caller owns it; zero it to
 * start). dl_deframer_push feeds one byte; it returns 1 when that byte
 * completed a good frame, whose payload (header ‖ body, CRC checked and
 * stripped) is then in d->payload[0 .. d->payload_len); 0 when no frame is
 * complete; a negative dl_err when the byte ended a frame that §2.3 says to
 * drop silently (overflow, bad COBS, bad size, bad CRC). Empty frames are
 * ignored (0). The payload stays valid until the next push.
 *
 * dl_frame_decode decodes one delimiter-free encoded frame (the deframer's
 * core, exposed for tests and the fuzzer) into payload (capacity
 * DL_MAX_RAW) and returns the payload length or a negative dl_err.
 */
#ifndef DL_FRAME_H
#define DL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "dl.h"

struct dl_deframer {
	uint8_t buf[DL_MAX_ENCODED];
	size_t len;
	int overflow;
	uint8_t payload[DL_MAX_RAW];
	size_t payload_len;
};

int dl_frame_encode(const uint8_t *payload, size_t n, uint8_t *out, size_t cap);
int dl_frame_decode(const uint8_t *enc, size_t n, uint8_t *payload);
int dl_deframer_push(struct dl_deframer *d, uint8_t byte);

#endif

#include "crc32.h"

/* Bitwise: 8 shifts a byte. Frames are ≤ 1038 bytes and flash entries ≤ 4 KiB,
 * so a table (1 KiB of RAM or flash) buys nothing the protocol's budgets need. */
uint32_t dl_crc32_update(uint32_t prev, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t c = ~prev;
	for (size_t i = 0; i < n; i++) {
		c ^= b[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return ~c;
}

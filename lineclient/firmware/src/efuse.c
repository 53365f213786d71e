/* Host eFuse model. BLOCK0 bytes: 0 JTAG/download disables, 1 SPI_BOOT_CRYPT_CNT,
 * 2 secure boot, 3 write protection of RD_DIS, 4 secure download, 8..13 key
 * purposes of KEY0..KEY5. BLOCK1 bytes 0..5: MAC_FACTORY. */
#include <string.h>

#include "efuse.h"
#include "hal.h"

#define BLK0 0u
#define BLK_MAC 1u
#define BLK_KEY0 4u
#define KEY_BLOCKS 6u

/* BLOCK0 byte 0 */
#define DIS_PAD_JTAG 0x01u
#define DIS_USB_JTAG 0x02u
#define DIS_DOWNLOAD_ICACHE 0x04u
#define DIS_DOWNLOAD_MANUAL_ENCRYPT 0x08u
#define DIS_DIRECT_BOOT 0x10u
#define HARD_DIS_JTAG 0x20u
#define WR_DIS_DIS_ICACHE 0x40u
/* byte 1 */
#define SPI_BOOT_CRYPT_CNT_RELEASE 0x07u
/* byte 2 */
#define SECURE_BOOT_EN 0x01u
#define SECURE_BOOT_KEY_REVOKE1 0x02u
#define SECURE_BOOT_KEY_REVOKE2 0x04u
#define SECURE_BOOT_AGGRESSIVE_REVOKE 0x08u
/* byte 3 */
#define WR_DIS_RD_DIS 0x01u
/* byte 4 */
#define ENABLE_SECURITY_DOWNLOAD 0x01u

#ifndef DL_SECURE_BOOT_DIGEST
/* SHA-256 of the development signing key's public key block: stands for the vendor's. */
#define DL_SECURE_BOOT_DIGEST                                                                      \
	{0x5a, 0x1e, 0x0f, 0x3b, 0x6c, 0x7d, 0x21, 0x44, 0x90, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, \
	 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, \
	 0xbb, 0xcc}
#endif
const uint8_t dl_secure_boot_digest[32] = DL_SECURE_BOOT_DIGEST;

/* One step: the BLOCK0 bits it burns, and the key block purpose it needs (0: none). */
struct step {
	uint8_t byte0, byte1, byte2, byte3, byte4;
	uint8_t key_purpose;
};

static const struct step steps[DL_LOCK_STEPS] = {
	/* 1 flash-encryption */
	{DIS_PAD_JTAG | DIS_USB_JTAG | DIS_DOWNLOAD_ICACHE | DIS_DOWNLOAD_MANUAL_ENCRYPT |
		 DIS_DIRECT_BOOT | HARD_DIS_JTAG | WR_DIS_DIS_ICACHE,
	 SPI_BOOT_CRYPT_CNT_RELEASE, 0, 0, 0, DL_PURPOSE_XTS_AES_128_KEY},
	/* 2 secure-boot */
	{0, 0, SECURE_BOOT_EN | SECURE_BOOT_KEY_REVOKE1 | SECURE_BOOT_KEY_REVOKE2 |
		   SECURE_BOOT_AGGRESSIVE_REVOKE, 0, 0, DL_PURPOSE_SECURE_BOOT_DIGEST0},
	/* 3 rd-dis-write-protect */
	{0, 0, 0, WR_DIS_RD_DIS, 0, 0},
	/* 4 secure-download */
	{0, 0, 0, 0, ENABLE_SECURITY_DOWNLOAD, 0},
};

int dl_efuse_mac(uint8_t mac[DL_CHIP_ID_LEN])
{
	uint8_t b[HAL_EFUSE_BLOCK_LEN];
	int r = hal_efuse_read(BLK_MAC, b);
	if (r == DL_OK)
		memcpy(mac, b, DL_CHIP_ID_LEN);
	return r;
}

int dl_efuse_set_mac(const uint8_t mac[DL_CHIP_ID_LEN])
{
	uint8_t b[HAL_EFUSE_BLOCK_LEN] = {0};
	memcpy(b, mac, DL_CHIP_ID_LEN);
	return hal_efuse_burn(BLK_MAC, b);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int dl_efuse_key_find(enum dl_key_purpose purpose, uint8_t out[32])
{
	uint8_t b0[HAL_EFUSE_BLOCK_LEN], k[HAL_EFUSE_BLOCK_LEN];
	int r = hal_efuse_read(BLK0, b0);
	if (r != DL_OK)
		return r;
	for (unsigned i = 0; i < KEY_BLOCKS; i++) {
		if (b0[8 + i] != purpose)
			continue;
		if ((r = hal_efuse_read(BLK_KEY0 + i, k)) != DL_OK)
			return r;
		if (out)
			memcpy(out, k, 32);
		return (int)(BLK_KEY0 + i);
	}
	return DL_ERR_NOT_FOUND;
}

int dl_efuse_key_burn(enum dl_key_purpose purpose, const uint8_t key[32], unsigned *block)
{
	uint8_t b0[HAL_EFUSE_BLOCK_LEN], k[HAL_EFUSE_BLOCK_LEN];
	int r = hal_efuse_read(BLK0, b0);
	for (unsigned i = 0; r == DL_OK && i < KEY_BLOCKS; i++) {
		if ((r = hal_efuse_read(BLK_KEY0 + i, k)) != DL_OK || b0[8 + i] != 0 || !all_zero(k, 32))
			continue;
		uint8_t want[HAL_EFUSE_BLOCK_LEN] = {0};
		memcpy(want, key, 32);
		if ((r = hal_efuse_burn(BLK_KEY0 + i, want)) != DL_OK)
			return r;
		uint8_t p[HAL_EFUSE_BLOCK_LEN] = {0};
		p[8 + i] = (uint8_t)purpose;
		if ((r = hal_efuse_burn(BLK0, p)) != DL_OK)
			return r;
		if ((r = hal_efuse_read(BLK_KEY0 + i, k)) != DL_OK || memcmp(k, key, 32) != 0)
			return DL_ERR_EFUSE;
		*block = BLK_KEY0 + i;
		return DL_OK;
	}
	return r != DL_OK ? r : DL_ERR_EFUSE; /* no free key block */
}

static int step_complete(const struct step *s, const uint8_t b0[HAL_EFUSE_BLOCK_LEN])
{
	const uint8_t want[5] = {s->byte0, s->byte1, s->byte2, s->byte3, s->byte4};
	for (int i = 0; i < 5; i++)
		if ((b0[i] & want[i]) != want[i])
			return 0;
	if (s->key_purpose == 0)
		return 1;
	for (unsigned i = 0; i < KEY_BLOCKS; i++)
		if (b0[8 + i] == s->key_purpose)
			return 1;
	return 0;
}

int dl_efuse_lock_mask(uint8_t *mask)
{
	uint8_t b0[HAL_EFUSE_BLOCK_LEN];
	int r = hal_efuse_read(BLK0, b0);
	if (r != DL_OK)
		return r;
	*mask = 0;
	for (unsigned i = 0; i < DL_LOCK_STEPS && step_complete(&steps[i], b0); i++)
		*mask |= (uint8_t)(1u << i);
	return DL_OK;
}

/* The key a step needs: a fresh random XTS key, or the secure boot digest. */
static int step_key(const struct step *s)
{
	uint8_t key[32];
	unsigned block;
	int r = dl_efuse_key_find((enum dl_key_purpose)s->key_purpose, NULL);
	if (s->key_purpose == 0 || r >= 0)
		return r < 0 && r != DL_ERR_NOT_FOUND ? r : DL_OK;
	if (s->key_purpose == DL_PURPOSE_SECURE_BOOT_DIGEST0)
		memcpy(key, dl_secure_boot_digest, 32);
	else if ((r = hal_random(key, sizeof key)) != DL_OK)
		return r;
	r = dl_efuse_key_burn((enum dl_key_purpose)s->key_purpose, key, &block);
	memset(key, 0, sizeof key);
	return r;
}

int dl_efuse_lock_burn(unsigned step)
{
	uint8_t b0[HAL_EFUSE_BLOCK_LEN] = {0}, mask;
	const struct step *s;
	int r;
	if (step < 1 || step > DL_LOCK_STEPS)
		return DL_ERR_MALFORMED;
	s = &steps[step - 1];
	if ((r = step_key(s)) != DL_OK)
		return r;
	b0[0] = s->byte0;
	b0[1] = s->byte1;
	b0[2] = s->byte2;
	b0[3] = s->byte3;
	b0[4] = s->byte4;
	if ((r = hal_efuse_burn(BLK0, b0)) != DL_OK)
		return r;
	if ((r = dl_efuse_lock_mask(&mask)) != DL_OK)
		return r;
	return mask & (1u << (step - 1)) ? DL_OK : DL_ERR_EFUSE;
}

int dl_efuse_debug_enabled(int *enabled)
{
	uint8_t b0[HAL_EFUSE_BLOCK_LEN];
	int r = hal_efuse_read(BLK0, b0);
	if (r == DL_OK)
		*enabled = (b0[0] & (DIS_PAD_JTAG | DIS_USB_JTAG)) != (DIS_PAD_JTAG | DIS_USB_JTAG);
	return r;
}

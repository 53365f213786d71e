#include <string.h>

#include "hal_mem.h"

uint8_t hal_mem_flash[HAL_FLASH_SIZE];
uint8_t hal_mem_efuse[HAL_EFUSE_BLOCKS][HAL_EFUSE_BLOCK_LEN];

static long cut_at = -1, mutations;
static int dead, reason, stuck = -1;
static uint64_t rng = 0x9E3779B97F4A7C15u, now;
static uint8_t in_q[8192], out_q[65536];
static size_t in_head, in_len, out_len;

void hal_mem_reset(void)
{
	memset(hal_mem_flash, 0xFF, sizeof hal_mem_flash);
	memset(hal_mem_efuse, 0, sizeof hal_mem_efuse);
	cut_at = -1;
	mutations = 0;
	dead = 0;
	in_head = in_len = out_len = 0;
	reason = DL_BOOT_POWER_ON;
	stuck = -1;
}

void hal_mem_efuse_stuck(int block) { stuck = block; }

void hal_mem_cut_after(long n) { cut_at = n < 0 ? -1 : mutations + n; }
int hal_mem_powered(void) { return !dead; }
long hal_mem_mutations(void) { return mutations; }
void hal_mem_power_on(void)
{
	dead = 0;
	cut_at = -1;
	reason = DL_BOOT_POWER_ON;
	in_head = in_len = 0;
}

/* 1 when this mutation is the one the power cut tears. */
static int tearing(void)
{
	if (dead)
		return 0;
	if (cut_at >= 0 && mutations == cut_at) {
		dead = 1;
		mutations++;
		return 1;
	}
	mutations++;
	return 0;
}

int hal_random(uint8_t *buf, size_t n)
{
	if (dead)
		return DL_ERR_RNG;
	for (size_t i = 0; i < n; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		buf[i] = (uint8_t)(rng >> 24);
	}
	return DL_OK;
}

static int range_ok(uint32_t addr, size_t n) { return n <= HAL_FLASH_SIZE && addr <= HAL_FLASH_SIZE - n; }

int hal_flash_read(uint32_t addr, void *buf, size_t n)
{
	if (dead || !range_ok(addr, n))
		return DL_ERR_FLASH;
	memcpy(buf, hal_mem_flash + addr, n);
	return DL_OK;
}

int hal_flash_write(uint32_t addr, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	if (dead || !range_ok(addr, n))
		return DL_ERR_FLASH;
	int torn = tearing();
	size_t done = torn ? n / 2 : n;
	for (size_t i = 0; i < done; i++)
		hal_mem_flash[addr + i] &= p[i];
	if (torn) {
		if (done < n) /* half the bits of the next byte */
			hal_mem_flash[addr + done] &= (uint8_t)(p[done] | 0xF0);
		return DL_ERR_FLASH;
	}
	return DL_OK;
}

int hal_flash_erase(uint32_t addr, size_t n)
{
	if (dead || !range_ok(addr, n) || addr % HAL_FLASH_SECTOR || n % HAL_FLASH_SECTOR)
		return DL_ERR_FLASH;
	int torn = tearing();
	memset(hal_mem_flash + addr, 0xFF, torn ? n / 3 : n);
	return torn ? DL_ERR_FLASH : DL_OK;
}

int hal_efuse_read(unsigned block, uint8_t out[HAL_EFUSE_BLOCK_LEN])
{
	if (dead || block >= HAL_EFUSE_BLOCKS)
		return DL_ERR_EFUSE;
	memcpy(out, hal_mem_efuse[block], HAL_EFUSE_BLOCK_LEN);
	return DL_OK;
}

int hal_efuse_burn(unsigned block, const uint8_t bits[HAL_EFUSE_BLOCK_LEN])
{
	if (dead || block >= HAL_EFUSE_BLOCKS)
		return DL_ERR_EFUSE;
	int torn = tearing();
	if ((int)block == stuck)
		return DL_OK; /* attempted; nothing programmed (hal.h: the caller reads back) */
	for (unsigned i = 0; i < (torn ? HAL_EFUSE_BLOCK_LEN / 2 : HAL_EFUSE_BLOCK_LEN); i++)
		hal_mem_efuse[block][i] |= bits[i];
	return torn ? DL_ERR_EFUSE : DL_OK;
}

void hal_mem_uart_input(const uint8_t *p, size_t n)
{
	if (in_head > 0) {
		memmove(in_q, in_q + in_head, in_len);
		in_head = 0;
	}
	if (n > sizeof in_q - in_len)
		n = sizeof in_q - in_len;
	memcpy(in_q + in_len, p, n);
	in_len += n;
}

size_t hal_mem_uart_output(uint8_t *out, size_t cap)
{
	size_t n = out_len < cap ? out_len : cap;
	memcpy(out, out_q, n);
	memmove(out_q, out_q + n, out_len - n);
	out_len -= n;
	return n;
}

int hal_uart_read(uint8_t *buf, size_t n, uint32_t timeout_ms)
{
	now += in_len ? 0 : timeout_ms;
	if (dead)
		return DL_ERR_UART;
	size_t k = in_len < n ? in_len : n;
	memcpy(buf, in_q + in_head, k);
	in_head += k;
	in_len -= k;
	return (int)k;
}

int hal_uart_write(const uint8_t *buf, size_t n)
{
	if (dead)
		return DL_ERR_UART;
	if (n > sizeof out_q - out_len)
		n = sizeof out_q - out_len; /* a full line loses bytes */
	memcpy(out_q + out_len, buf, n);
	out_len += n;
	return DL_OK;
}

int hal_uart_drain(void) { return dead ? DL_ERR_UART : DL_OK; }
void hal_reboot(void) { reason = DL_BOOT_REBOOT; }
int hal_reset_reason(void) { return reason; }
uint64_t hal_time_ms(void) { return now; }

/*
 * hal.h — the only place the firmware touches the platform.
 *
 * A port implements these functions for its chip (ESP-IDF: esp_fill_random,
 * esp_flash_*, esp_efuse_*, uart_*, esp_restart, esp_timer_get_time); the host
 * build implements them over POSIX files and a PTY (hal_posix.c). The core's
 * crash safety relies on exactly the guarantees written here and on nothing
 * else: a port that cannot give one of them must say so in its README.
 *
 * Every function returns DL_OK (0) or a negative dl_err. None allocates.
 * None is called from more than one thread: the core is a single loop.
 */
#ifndef DL_HAL_H
#define DL_HAL_H

#include <stddef.h>
#include <stdint.h>

#include "dl.h"

/* ---- random ---------------------------------------------------------------
 * hal_random fills buf with n bytes from the chip's hardware RNG (on ESP32:
 * with the RF subsystem or the bootloader's entropy source enabled, so the
 * output is cryptographically random). Fails (DL_ERR_RNG) only if the source
 * is unavailable; then buf's content is unspecified and must not be used.
 */
int hal_random(uint8_t *buf, size_t n);

/* ---- SPI flash --------------------------------------------------------------
 * The flash is NOR flash of HAL_FLASH_SIZE bytes, erased in sectors of
 * HAL_FLASH_SECTOR bytes to 0xFF.
 *
 * hal_flash_read copies n bytes at addr. It never changes the flash.
 *
 * hal_flash_write programs n bytes at addr. Programming can only clear bits:
 * every byte becomes (old & new). The core only writes into erased bytes, or
 * clears bits it means to clear (an invalidation marker). When it returns
 * DL_OK the bytes are durable (a power cut afterwards keeps them).
 * A power cut during the call leaves each byte of the range with some subset
 * of its bits programmed — anywhere between old and (old & new) — and bytes
 * outside the range untouched. Writes are not reordered: a write that
 * returned before another one started is durable before it.
 *
 * hal_flash_erase sets n bytes at addr (both multiples of HAL_FLASH_SECTOR)
 * to 0xFF. DL_OK means durable. A power cut during the call may leave any
 * byte of the sectors being erased at any value between its old value and
 * 0xFF; other sectors are untouched.
 *
 * Failures: DL_ERR_FLASH for a range outside the flash, an unaligned erase,
 * or a medium error; after a failed write or erase the range is in the same
 * undefined condition as after a power cut.
 */
#define HAL_FLASH_SIZE (4u * 1024u * 1024u)
#define HAL_FLASH_SECTOR 4096u
int hal_flash_read(uint32_t addr, void *buf, size_t n);
int hal_flash_write(uint32_t addr, const void *buf, size_t n);
int hal_flash_erase(uint32_t addr, size_t n);

/* ---- eFuses ---------------------------------------------------------------
 * HAL_EFUSE_BLOCKS blocks of HAL_EFUSE_BLOCK_LEN bytes each; every bit starts
 * at 0 and can be burned to 1 once, never back.
 *
 * hal_efuse_read copies one block as the eFuse controller reads it now.
 *
 * hal_efuse_burn burns the 1-bits of bits into block (bits already 1 stay 1;
 * 0-bits burn nothing). It returns DL_OK when the burn was attempted; it does
 * NOT promise the bits read back: the caller reads back and decides
 * (esp_efuse_write_field_* on a chip can fail per bit). A power cut during
 * the call leaves any subset of the requested bits burned.
 * Failures: DL_ERR_EFUSE (controller error or a block out of range).
 */
#define HAL_EFUSE_BLOCKS 11u
#define HAL_EFUSE_BLOCK_LEN 32u
int hal_efuse_read(unsigned block, uint8_t out[HAL_EFUSE_BLOCK_LEN]);
int hal_efuse_burn(unsigned block, const uint8_t bits[HAL_EFUSE_BLOCK_LEN]);

/* ---- UART -------------------------------------------------------------------
 * hal_uart_read waits at most timeout_ms for at least one byte and returns
 * how many bytes it put into buf (0 on timeout), or DL_ERR_UART. Bytes that
 * arrive while the core is busy are buffered by the driver; an overflowing
 * driver buffer loses bytes (the protocol's framing copes, §2.3).
 *
 * hal_uart_write queues all n bytes for transmission (blocking while the
 * queue is full) or returns DL_ERR_UART. hal_uart_drain returns once every
 * queued byte has left the transmitter (on a USB bridge or a PTY: has been
 * handed to the host side), so a reset that follows cannot cut the reply.
 */
int hal_uart_read(uint8_t *buf, size_t n, uint32_t timeout_ms);
int hal_uart_write(const uint8_t *buf, size_t n);
int hal_uart_drain(void);

/* ---- reset and time -------------------------------------------------------
 * hal_reboot resets the chip: RAM is lost, flash and eFuses stay; the core
 * starts again from its entry point and hal_reset_reason() then reports
 * DL_BOOT_REBOOT. On a chip it does not return. The host HAL returns to its
 * main loop, which starts the core afresh with a zeroed module context.
 *
 * hal_reset_reason reports why the core is starting (enum dl_boot_reason).
 * hal_time_ms is a monotonic millisecond clock (wraps after 2^64 ms).
 */
void hal_reboot(void);
int hal_reset_reason(void);
uint64_t hal_time_ms(void);

#endif

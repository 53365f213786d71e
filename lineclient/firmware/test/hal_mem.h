/*
 * hal_mem.h — an in-memory HAL for unit tests and the fuzzer, with power cuts.
 *
 * Flash and eFuses are arrays; the UART is a byte queue each way. A test arms
 * hal_mem_cut_after(n): the n-th flash/eFuse mutation from now is torn (a
 * prefix of its bytes done, the next byte half-programmed) and the "power"
 * goes off: every later HAL call fails until hal_mem_power_on(). That is the
 * worst a power cut may do under hal.h's contract.
 */
#ifndef DL_HAL_MEM_H
#define DL_HAL_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "hal.h"

extern uint8_t hal_mem_flash[HAL_FLASH_SIZE];
extern uint8_t hal_mem_efuse[HAL_EFUSE_BLOCKS][HAL_EFUSE_BLOCK_LEN];

void hal_mem_reset(void);            /* blank chip: flash 0xFF, eFuses 0, queues empty */
void hal_mem_cut_after(long n);      /* -1: never */
int hal_mem_powered(void);
long hal_mem_mutations(void);        /* flash/eFuse mutations so far */
void hal_mem_power_on(void);
/* From now on burns of block do nothing (bits that will not program), -1: none. */
void hal_mem_efuse_stuck(int block);
/* UART: bytes the host sends, and the bytes the module sent (drained by the call). */
void hal_mem_uart_input(const uint8_t *p, size_t n);
size_t hal_mem_uart_output(uint8_t *out, size_t cap);

#endif

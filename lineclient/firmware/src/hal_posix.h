/*
 * hal_posix.h — setting up the POSIX HAL (hal_posix.c) for the host program.
 *
 * The chip's state lives in a directory: flash.bin (the 4 MiB SPI flash,
 * 0xFF when erased) and efuse.bin (11 blocks of 32 bytes, 0 when unburned),
 * both mode 0600, every write fsynced before the HAL call returns (hal.h's
 * durability). A lock file (flock) keeps a second process off the same chip.
 *
 * hal_posix_open_state creates the files on first use (a blank module: the
 * partition table at 0x8000, everything else erased; *fresh set to 1) and
 * opens them. hal_posix_open_uart creates a PTY in raw mode and writes its
 * slave path into path. Both return DL_OK or a negative dl_err with a reason
 * in why.
 */
#ifndef DL_HAL_POSIX_H
#define DL_HAL_POSIX_H

#include <stddef.h>

int hal_posix_open_state(const char *dir, int *fresh, char *why, size_t why_cap);
int hal_posix_open_uart(char *path, size_t cap, char *why, size_t why_cap);
void hal_posix_close(void);

#endif

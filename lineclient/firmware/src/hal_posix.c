/* POSIX HAL: flash and eFuses are files, the UART is a PTY (hal.h has the contract). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hal.h"
#include "hal_posix.h"
#include "storage.h"

static int flash_fd = -1, efuse_fd = -1, lock_fd = -1, pty_fd = -1, pty_slave_fd = -1;
static int reset_reason = DL_BOOT_POWER_ON;

#define EFUSE_SIZE (HAL_EFUSE_BLOCKS * HAL_EFUSE_BLOCK_LEN)
#define UART_WRITE_TIMEOUT_MS 2000

int hal_random(uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = getrandom(buf, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return DL_ERR_RNG;
		buf += k;
		n -= (size_t)k;
	}
	return DL_OK;
}

static int in_flash(uint32_t addr, size_t n) { return n <= HAL_FLASH_SIZE && addr <= HAL_FLASH_SIZE - n; }

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t k = pread(fd, p, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
		off += k;
	}
	return fdatasync(fd);
}

int hal_flash_read(uint32_t addr, void *buf, size_t n)
{
	if (!in_flash(addr, n) || pread_all(flash_fd, buf, n, addr) != 0)
		return DL_ERR_FLASH;
	return DL_OK;
}

/* NOR programming: bits only go 1 → 0. Chunked so no buffer is allocated. */
int hal_flash_write(uint32_t addr, const void *buf, size_t n)
{
	const uint8_t *src = buf;
	uint8_t cur[HAL_FLASH_SECTOR];
	if (!in_flash(addr, n))
		return DL_ERR_FLASH;
	while (n > 0) {
		size_t k = n < sizeof cur ? n : sizeof cur;
		if (pread_all(flash_fd, cur, k, addr) != 0)
			return DL_ERR_FLASH;
		for (size_t i = 0; i < k; i++)
			cur[i] &= src[i];
		if (pwrite_all(flash_fd, cur, k, addr) != 0)
			return DL_ERR_FLASH;
		addr += (uint32_t)k;
		src += k;
		n -= k;
	}
	return DL_OK;
}

int hal_flash_erase(uint32_t addr, size_t n)
{
	uint8_t ff[HAL_FLASH_SECTOR];
	if (!in_flash(addr, n) || addr % HAL_FLASH_SECTOR || n % HAL_FLASH_SECTOR)
		return DL_ERR_FLASH;
	memset(ff, 0xFF, sizeof ff);
	for (size_t off = 0; off < n; off += HAL_FLASH_SECTOR)
		if (pwrite_all(flash_fd, ff, sizeof ff, (off_t)(addr + off)) != 0)
			return DL_ERR_FLASH;
	return DL_OK;
}

int hal_efuse_read(unsigned block, uint8_t out[HAL_EFUSE_BLOCK_LEN])
{
	if (block >= HAL_EFUSE_BLOCKS ||
	    pread_all(efuse_fd, out, HAL_EFUSE_BLOCK_LEN, (off_t)block * HAL_EFUSE_BLOCK_LEN) != 0)
		return DL_ERR_EFUSE;
	return DL_OK;
}

int hal_efuse_burn(unsigned block, const uint8_t bits[HAL_EFUSE_BLOCK_LEN])
{
	uint8_t cur[HAL_EFUSE_BLOCK_LEN];
	if (hal_efuse_read(block, cur) != DL_OK)
		return DL_ERR_EFUSE;
	for (unsigned i = 0; i < HAL_EFUSE_BLOCK_LEN; i++)
		cur[i] |= bits[i];
	if (pwrite_all(efuse_fd, cur, sizeof cur, (off_t)block * HAL_EFUSE_BLOCK_LEN) != 0)
		return DL_ERR_EFUSE;
	return DL_OK;
}

int hal_uart_read(uint8_t *buf, size_t n, uint32_t timeout_ms)
{
	struct pollfd p = {pty_fd, POLLIN, 0};
	int k = poll(&p, 1, (int)timeout_ms);
	if (k < 0)
		return errno == EINTR ? 0 : DL_ERR_UART;
	if (k == 0)
		return 0;
	ssize_t got = read(pty_fd, buf, n);
	if (got < 0)
		return errno == EINTR || errno == EAGAIN || errno == EIO ? 0 : DL_ERR_UART;
	return (int)got;
}

/* A host that stopped reading loses bytes after a while, like a real UART. */
int hal_uart_write(const uint8_t *buf, size_t n)
{
	uint64_t deadline = hal_time_ms() + UART_WRITE_TIMEOUT_MS;
	while (n > 0) {
		ssize_t k = write(pty_fd, buf, n);
		if (k > 0) {
			buf += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return DL_ERR_UART;
		if (hal_time_ms() >= deadline)
			return DL_OK;
		struct pollfd p = {pty_fd, POLLOUT, 0};
		(void)poll(&p, 1, 50);
	}
	return DL_OK;
}

/* write() returned: the bytes are in the PTY's buffer, on the host side, and
 * a module reset (which keeps the PTY, as a reset keeps the USB bridge) cannot cut them. */
int hal_uart_drain(void) { return DL_OK; }

void hal_reboot(void) { reset_reason = DL_BOOT_REBOOT; }

int hal_reset_reason(void) { return reset_reason; }

uint64_t hal_time_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- set-up ---- */

static int fail(char *why, size_t cap, const char *what, const char *path)
{
	snprintf(why, cap, "%s %s: %s", what, path, strerror(errno));
	return DL_ERR_STATE;
}

/* Writes n bytes of fill (and, at offset at, the len bytes of extra) into a new file path. */
static int write_new(const char *path, uint8_t fill, off_t n, const uint8_t *extra, off_t at, size_t len)
{
	uint8_t block[HAL_FLASH_SECTOR];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	memset(block, fill, sizeof block);
	for (off_t off = 0; off < n; off += (off_t)sizeof block) {
		size_t k = n - off < (off_t)sizeof block ? (size_t)(n - off) : sizeof block;
		if (pwrite(fd, block, k, off) != (ssize_t)k)
			return close(fd), -1;
	}
	if ((extra && pwrite(fd, extra, len, at) != (ssize_t)len) || fsync(fd) != 0)
		return close(fd), -1;
	return close(fd);
}

/* A blank module: eFuses all 0, flash erased with the partition table at
 * 0x8000. Both are written under temporary names and renamed, flash.bin
 * last: its presence means the chip exists, so a cut during the creation
 * leaves no half-made chip (the next start makes it again). */
static int create_blank(const char *dir, const char *flash, const char *efuse, char *why, size_t cap)
{
	char tmp[4200];
	uint8_t pt[0xC00];
	int dfd;
	if (dl_partition_table(pt) != DL_OK) {
		snprintf(why, cap, "partition table: md5 unavailable");
		return DL_ERR_STATE;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", efuse);
	if (write_new(tmp, 0x00, EFUSE_SIZE, NULL, 0, 0) != 0 || rename(tmp, efuse) != 0)
		return fail(why, cap, "create", efuse);
	snprintf(tmp, sizeof tmp, "%s.tmp", flash);
	if (write_new(tmp, 0xFF, HAL_FLASH_SIZE, pt, DL_PART_TABLE_ADDR, sizeof pt) != 0 || rename(tmp, flash) != 0)
		return fail(why, cap, "create", flash);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0) {
		if (dfd >= 0)
			close(dfd);
		return fail(why, cap, "sync", dir);
	}
	close(dfd);
	return DL_OK;
}

static int check_size(int fd, off_t want, const char *path, char *why, size_t cap)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return fail(why, cap, "stat", path);
	if (st.st_size != want) {
		snprintf(why, cap, "%s is %lld bytes, want %lld", path, (long long)st.st_size, (long long)want);
		return DL_ERR_STATE;
	}
	return DL_OK;
}

int hal_posix_open_state(const char *dir, int *fresh, char *why, size_t cap)
{
	char flash[4096], efuse[4096], lock[4096];
	int r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fail(why, cap, "create directory", dir);
	snprintf(flash, sizeof flash, "%s/flash.bin", dir);
	snprintf(efuse, sizeof efuse, "%s/efuse.bin", dir);
	snprintf(lock, sizeof lock, "%s/lock", dir);
	if ((lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return fail(why, cap, "open", lock);
	if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(why, cap, "%s is in use by another dacline-module", dir);
		return DL_ERR_STATE;
	}
	*fresh = access(flash, F_OK) != 0;
	if (*fresh && (r = create_blank(dir, flash, efuse, why, cap)) != DL_OK)
		return r;
	if ((flash_fd = open(flash, O_RDWR | O_CLOEXEC)) < 0)
		return fail(why, cap, "open", flash);
	if ((efuse_fd = open(efuse, O_RDWR | O_CLOEXEC)) < 0)
		return fail(why, cap, "open", efuse);
	if ((r = check_size(flash_fd, HAL_FLASH_SIZE, flash, why, cap)) != DL_OK)
		return r;
	return check_size(efuse_fd, EFUSE_SIZE, efuse, why, cap);
}

int hal_posix_open_uart(char *path, size_t cap, char *why, size_t why_cap)
{
	struct termios t;
	const char *name;
	pty_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pty_fd < 0 || grantpt(pty_fd) != 0 || unlockpt(pty_fd) != 0 || (name = ptsname(pty_fd)) == NULL)
		return fail(why, why_cap, "open", "pty");
	snprintf(path, cap, "%s", name);
	/* Keep the slave open: no hang-up (EIO) between clients, and raw from the
	 * start, so nothing echoes before a station opens the port. */
	if ((pty_slave_fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || tcgetattr(pty_slave_fd, &t) != 0)
		return fail(why, why_cap, "open", path);
	cfmakeraw(&t);
	if (tcsetattr(pty_slave_fd, TCSANOW, &t) != 0)
		return fail(why, why_cap, "raw mode", path);
	int fl = fcntl(pty_fd, F_GETFL);
	if (fl < 0 || fcntl(pty_fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return fail(why, why_cap, "non-blocking", "pty");
	return DL_OK;
}

void hal_posix_close(void)
{
	int *fds[] = {&flash_fd, &efuse_fd, &pty_fd, &pty_slave_fd, &lock_fd};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

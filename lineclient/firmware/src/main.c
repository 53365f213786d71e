/*
 * dacline-module — one module of the reference firmware on the host: the
 * core over the POSIX HAL. Usage:
 *
 *   dacline-module --state DIR [--mac XX:XX:XX:XX:XX:XX | --chip-id XXXXXXXXXXXX]
 *                  [--key-storage plaintext|efuse|derived] [--chip-model NAME]
 *
 * Boots, prints the PTY path as its first stdout line, then serves until SIGTERM or
 * SIGINT. DIR holds the chip (flash.bin, efuse.bin): restarted on the same
 * DIR it is the same chip after a power cycle. Exit status: 0 after a signal,
 * 1 when the chip cannot run, 2 for bad usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "efuse.h"
#include "hal.h"
#include "hal_posix.h"
#include "module.h"

#define FIRMWARE_VERSION "dacline-ref-c 1.0"

static volatile sig_atomic_t stop;
static struct dl_module module; /* the one module context */

static void on_signal(int sig) { (void)sig; stop = 1; }

static const char usage_text[] =
	"usage: dacline-module --state DIR [--mac XX:XX:XX:XX:XX:XX | --chip-id XXXXXXXXXXXX]\n"
	"                      [--key-storage plaintext|efuse|derived] [--chip-model NAME]\n";

static int usage(const char *msg)
{
	fprintf(stderr, "dacline-module: error: %s\n%s", msg, usage_text);
	return 2;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 12 hex digits, optionally separated by ':' or '-' after every pair. */
static int parse_mac(const char *s, uint8_t mac[DL_CHIP_ID_LEN])
{
	for (unsigned i = 0; i < DL_CHIP_ID_LEN; i++) {
		if (i > 0 && (*s == ':' || *s == '-'))
			s++;
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0)
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return *s == 0 ? 0 : -1;
}

struct args {
	const char *state, *model;
	uint8_t mac[DL_CHIP_ID_LEN];
	int have_mac;
	enum dl_key_storage storage;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
			fputs(usage_text, stdout);
			return 1;
		}
		char msg[160];
		if (v == NULL) {
			snprintf(msg, sizeof msg, "%s needs a value", f);
			return usage(msg), -1;
		}
		i++;
		if (strcmp(f, "--state") == 0)
			a->state = v;
		else if (strcmp(f, "--chip-model") == 0) {
			if (strlen(v) < 1 || strlen(v) > 32)
				return usage("--chip-model wants 1 to 32 characters"), -1;
			a->model = v;
		}
		else if (strcmp(f, "--mac") == 0 || strcmp(f, "--chip-id") == 0) {
			if (parse_mac(v, a->mac) != 0)
				return usage("--mac/--chip-id wants 12 hex digits (e.g. 02:DA:C1:00:00:01)"), -1;
			a->have_mac = 1;
		} else if (strcmp(f, "--key-storage") == 0) {
			if (strcmp(v, "plaintext") == 0)
				a->storage = DL_KEY_PLAINTEXT;
			else if (strcmp(v, "efuse") == 0)
				a->storage = DL_KEY_EFUSE;
			else if (strcmp(v, "derived") == 0)
				a->storage = DL_KEY_DERIVED;
			else
				return usage("--key-storage wants plaintext, efuse or derived"), -1;
		} else {
			snprintf(msg, sizeof msg, "unknown flag %s", f);
			return usage(msg), -1;
		}
	}
	if (a->state == NULL)
		return usage("--state DIR is required"), -1;
	return 0;
}

/* The module maker's MAC: burned into BLOCK1 while it reads all zero (the
 * first start, or one a power cut interrupted); later starts must agree. */
static int set_identity(const struct args *a)
{
	uint8_t mac[DL_CHIP_ID_LEN], want[DL_CHIP_ID_LEN] = {0x02, 0xDA, 0xC1}, zero[DL_CHIP_ID_LEN] = {0};
	if (dl_efuse_mac(mac) != DL_OK)
		return DL_ERR_EFUSE;
	if (memcmp(mac, zero, sizeof mac) == 0) {
		if (a->have_mac)
			memcpy(want, a->mac, sizeof want);
		else if (hal_random(want + 3, 3) != DL_OK)
			return DL_ERR_RNG;
		return dl_efuse_set_mac(want);
	}
	if (a->have_mac && memcmp(mac, a->mac, sizeof mac) != 0) {
		fprintf(stderr, "dacline-module: error: %s holds chip %02X%02X%02X%02X%02X%02X, not the --mac given\n"
				"hint: use another --state directory for another chip\n",
			a->state, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return DL_ERR_STATE;
	}
	return DL_OK;
}

/* The loop after the first start: requests, and a fresh start after each REBOOT. */
static int serve(void)
{
	int r = DL_OK;
	while (r == DL_OK && !stop) {
		r = dl_module_poll(&module, 100);
		if (r == DL_MODULE_REBOOT) {
			hal_reboot();
			r = dl_module_start(&module);
		}
	}
	if (r != DL_OK)
		fprintf(stderr, "dacline-module: error: module stopped: error %d\n", r);
	return r == DL_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	char why[512], path[256];
	int fresh = 0;
	a.model = "ESP32-C3";
	int pa = parse_args(argc, argv, &a);
	if (pa != 0)
		return pa > 0 ? 0 : 2; /* --help: 0; bad usage: 2 */
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (hal_posix_open_state(a.state, &fresh, why, sizeof why) != DL_OK ||
	    hal_posix_open_uart(path, sizeof path, why, sizeof why) != DL_OK) {
		fprintf(stderr, "dacline-module: error: %s\n", why);
		return 1;
	}
	if (set_identity(&a) != DL_OK)
		return 1;
	struct dl_module_options opt = {a.model, FIRMWARE_VERSION, a.storage};
	if (dl_module_init(&module, &opt) != DL_OK) {
		fprintf(stderr, "dacline-module: error: crypto set-up failed\n");
		return 1;
	}
	/* Boot first (its BOOT event waits in the PTY, a station's open flushes it, as a
	 * jig's station connects to a module that is already powered), then tell the path. */
	if (dl_module_start(&module) != DL_OK) {
		fprintf(stderr, "dacline-module: error: %s: the chip does not start (flash or eFuses unreadable)\n", a.state);
		return 1;
	}
	printf("%s\n", path);
	fflush(stdout);
	int rc = serve();
	dl_crypto_free(&module.crypto);
	hal_posix_close();
	return rc;
}

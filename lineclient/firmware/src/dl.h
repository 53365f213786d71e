/*
 * dl.h — the line protocol's constants and the firmware's error codes.
 *
 * Contract: every value here is taken from docs/line-protocol.md (version 1)
 * and FLASH-CONTRACT's additions (items 0x0A..0x0C). Buffers everywhere in the
 * firmware are sized from the limits below; nothing is allocated after start-up.
 */
#ifndef DL_H
#define DL_H

#include <stddef.h>
#include <stdint.h>

/* Errors: named negative codes, returned and never ignored. 0 is success. */
enum dl_err {
	DL_OK = 0,
	DL_ERR_MALFORMED = -1,   /* input breaks a format rule */
	DL_ERR_TOO_LARGE = -2,   /* input or output does not fit its buffer */
	DL_ERR_CRC = -3,         /* a CRC does not match */
	DL_ERR_FLASH = -4,       /* the HAL's flash read/write/erase failed */
	DL_ERR_EFUSE = -5,       /* the HAL's eFuse read/burn failed or did not read back */
	DL_ERR_CRYPTO = -6,      /* mbedTLS refused (keygen, CSR, signature, parse) */
	DL_ERR_RNG = -7,         /* the HAL's random source failed */
	DL_ERR_NOT_FOUND = -8,   /* the thing looked for is absent (not an error of the medium) */
	DL_ERR_UART = -9,        /* the HAL's UART failed */
	DL_ERR_STATE = -10,      /* the module's persistent state is inconsistent */
};

/* §2.2 sizes. */
#define DL_HEADER_LEN 10u
#define DL_MAX_BODY 1024u
#define DL_MAX_PAYLOAD (DL_HEADER_LEN + DL_MAX_BODY)               /* 1034 */
#define DL_MAX_RAW (DL_MAX_PAYLOAD + 4u)                           /* 1038: payload ‖ CRC */
#define DL_MAX_ENCODED (DL_MAX_RAW + DL_MAX_RAW / 254u + 1u)       /* 1043 */
#define DL_MAX_FRAME (DL_MAX_ENCODED + 2u)                         /* with both delimiters */
#define DL_MAX_CHUNK 512u
#define DL_MAX_DETAIL 128u

#define DL_VERSION 1u
#define DL_FLAG_RESPONSE 0x01u
#define DL_FLAG_EVENT 0x02u

/* §5 message types. */
enum dl_type {
	DL_T_IDENTIFY = 0x01,
	DL_T_GENERATE_KEY = 0x02,
	DL_T_WRITE_CHUNK = 0x03,
	DL_T_COMMIT = 0x04,
	DL_T_READ_DIGESTS = 0x05,
	DL_T_ATTEST = 0x06,
	DL_T_LOCK = 0x07,
	DL_T_REBOOT = 0x08,
	DL_T_BOOT = 0x7F,
};

/* §6 status codes. */
enum dl_status {
	DL_S_OK = 0x00,
	DL_S_UNSUPPORTED_VERSION = 0x01,
	DL_S_UNKNOWN_COMMAND = 0x02,
	DL_S_MALFORMED = 0x03,
	DL_S_BAD_STATE = 0x04,
	DL_S_LOCKED = 0x05,
	DL_S_NO_KEY = 0x06,
	DL_S_CREDENTIALS_MISSING = 0x07,
	DL_S_DIGEST_MISMATCH = 0x08,
	DL_S_INVALID_ITEM = 0x09,
	DL_S_KEY_MISMATCH = 0x0A,
	DL_S_LOCK_ORDER = 0x0B,
	DL_S_REQUEST_ID_REUSED = 0x0C,
	DL_S_BAD_OFFSET = 0x0D,
	DL_S_TOO_LARGE = 0x0E,
	DL_S_NO_DAC = 0x0F,
	DL_S_INCOMPLETE = 0x10,
	DL_S_HARDWARE_FAULT = 0x11,
};

/* §7 states. */
enum dl_state {
	DL_ST_UNPROVISIONED = 0,
	DL_ST_KEY_GENERATED = 1,
	DL_ST_CREDENTIALS_WRITTEN = 2,
	DL_ST_LOCKING = 3,
	DL_ST_LOCKED = 4,
};

/* §5.9 boot reasons. */
enum dl_boot_reason {
	DL_BOOT_POWER_ON = 0,
	DL_BOOT_REBOOT = 1,
	DL_BOOT_WATCHDOG = 2,
};

/* §5.3 items (0x0A..0x0C from FLASH-CONTRACT). */
enum dl_item {
	DL_ITEM_DAC = 0x01,
	DL_ITEM_PAI = 0x02,
	DL_ITEM_CD = 0x03,
	DL_ITEM_DISCRIMINATOR = 0x04,
	DL_ITEM_VERIFIER = 0x05,
	DL_ITEM_SALT = 0x06,
	DL_ITEM_ITERATIONS = 0x07,
	DL_ITEM_SERIAL = 0x08,
	DL_ITEM_RDID_UID = 0x09,
	DL_ITEM_VENDOR_ID = 0x0A,
	DL_ITEM_PRODUCT_ID = 0x0B,
	DL_ITEM_PRODUCT_INFO = 0x0C,
};
#define DL_ITEM_COUNT 12u
#define DL_ITEM_MAX_LEN 790u    /* the largest item (CD) */
#define DL_ITEM_DIGEST_LEN 37u  /* item u8 ‖ length u32 ‖ SHA-256 */

/*
 * The items a module needs before it may lock ("credentials written").
 * FLASH-CONTRACT adds vendor-id and product-id to the protocol's nine; a
 * build for a station that predates them sets DL_REQUIRED_ITEMS=0x1FF.
 */
#ifndef DL_REQUIRED_ITEMS
#define DL_REQUIRED_ITEMS 0x07FFu
#endif

/* §5.7 lock steps. */
#define DL_LOCK_STEPS 4u
#define DL_LOCK_ALL 0x0Fu

#define DL_CHIP_ID_LEN 6u

#endif

/*
 * items.h — the credential items of §5.3 (plus FLASH-CONTRACT's 0x0A..0x0C):
 * their bounds and the checks a module makes before COMMIT.
 *
 * dl_item_rule returns the row for a known item, NULL otherwise.
 * dl_item_check returns DL_OK, DL_ERR_MALFORMED (answer INVALID_ITEM; reason
 * in why) or DL_ERR_STATE (a DAC for another key: answer KEY_MISMATCH).
 *
 * product-info (0x0C) is a §4 TLV body; dl_product_info_fields parses it into
 * a struct of pointers into the value (no copies). A committed product-info
 * value must be canonical — tags ascending, as §4 says senders SHOULD emit
 * them — because the module stores the fields separately (factory NVS) and
 * must reproduce the exact bytes for READ_DIGESTS after a reset.
 */
#ifndef DL_ITEMS_H
#define DL_ITEMS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "dl.h"

struct dl_item_rule {
	uint8_t item;
	uint16_t min, max;
	const char *name;
};

const struct dl_item_rule *dl_item_rule(uint8_t item);

int dl_item_check(struct dl_crypto *c, uint8_t item, const uint8_t *v, size_t n, char *why,
		  size_t why_cap);

#define DL_PI_FIELDS 8u   /* product-info tags 0x01..0x08 */
#define DL_PI_HARDWARE_VER 0x03u

struct dl_product_info {
	const uint8_t *val[DL_PI_FIELDS + 1]; /* indexed by tag; NULL when absent */
	uint16_t len[DL_PI_FIELDS + 1];
};

int dl_product_info_fields(const uint8_t *v, size_t n, struct dl_product_info *pi, char *why,
			   size_t why_cap);

#endif

#ifndef DL_ITEMSET_DEFINED
#define DL_ITEMSET_DEFINED
/* The committed items as the module holds them in RAM (rebuilt from flash at
 * boot): bit (item-1) of mask set when committed. */
struct dl_itemset {
	uint16_t mask;
	uint16_t len[DL_ITEM_COUNT + 1];
	uint8_t val[DL_ITEM_COUNT + 1][DL_ITEM_MAX_LEN];
};
#endif

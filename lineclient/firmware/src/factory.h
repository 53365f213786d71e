/*
 * factory.h — the factory NVS partition (`fctry`, namespace `chip-factory`)
 * built from the committed items, and the items read back from it.
 *
 * dl_factory_build writes, into img (size bytes, a multiple of 4096), the NVS
 * image Espressif's generator makes from the equivalent CSV (FLASH-CONTRACT:
 * namespace row, then discriminator, iteration-count, salt, verifier,
 * serial-num, vendor-id, product-id, hardware-ver, hw-ver-str, vendor-name,
 * product-name, mfg-date, part-number, product-label, product-url, rd-id-uid,
 * cert-dclrn; absent ones left out). DAC and PAI are not in NVS. It returns
 * the number of pages holding entries or a negative dl_err.
 *
 * dl_factory_load sets every NVS-held item found in img into s (mask bit and
 * value), leaving DAC and PAI alone. A key that is present but cannot be
 * turned back into its item (bad base64, out of range) is a DL_ERR_STATE.
 */
#ifndef DL_FACTORY_H
#define DL_FACTORY_H

#include <stddef.h>
#include <stdint.h>

#include "items.h"

#define DL_FACTORY_NS "chip-factory"

int dl_factory_build(const struct dl_itemset *s, uint8_t *img, size_t size);
int dl_factory_load(const uint8_t *img, size_t size, struct dl_itemset *s);

#endif

#ifndef DL_UNIT_H
#define DL_UNIT_H
#include <stddef.h>
#include <stdint.h>
extern const char *testdata;
size_t read_file(const char *rel, uint8_t *buf, size_t cap);
void test_frames(void);
void test_tlv(void);
void test_nvs_golden(void);
void test_factory(void);
void test_esp_tlv(void);
void test_product_info(void);
void test_contract(void);
void test_protocol(void);
void test_key_variants(void);
void test_lock_read_back(void);
void test_foreign_factory_data(void);
void test_power_cuts(void);
#endif

/* Unit tests of the firmware core, run under AddressSanitizer and UBSan
 * (`make test`). Argument: the testdata directory (golden vectors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hal_mem.h"
#include "unit.h"

int check_failures;
const char *testdata, *contractdata;

size_t read_file(const char *rel, uint8_t *buf, size_t cap)
{
	char path[1024];
	if (strncmp(rel, "contract:", 9) == 0)
		snprintf(path, sizeof path, "%s/%s", contractdata, rel + 9);
	else
		snprintf(path, sizeof path, "%s/%s", testdata, rel);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	size_t n = fread(buf, 1, cap, f);
	if (!feof(f) && fgetc(f) != EOF) {
		fprintf(stderr, "%s is larger than %zu bytes\n", path, cap);
		exit(2);
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"crc and frames", test_frames},
		{"tlv bodies", test_tlv},
		{"nvs golden vectors", test_nvs_golden},
		{"factory nvs", test_factory},
		{"esp_secure_cert golden vector", test_esp_tlv},
		{"product-info checks", test_product_info},
		{"FLASH-CONTRACT vectors", test_contract},
		{"protocol rules", test_protocol},
		{"lock read-back", test_lock_read_back},
		{"key storage variants", test_key_variants},
		{"foreign factory data", test_foreign_factory_data},
		{"power cuts in storage", test_power_cuts},
	};
	testdata = argc > 1 ? argv[1] : "testdata";
	contractdata = argc > 2 ? argv[2] : "../esp/factorydata/testdata";
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		int before = check_failures;
		hal_mem_reset();
		tests[i].fn();
		printf("%-32s %s\n", tests[i].name, check_failures == before ? "ok" : "FAIL");
	}
	if (check_failures) {
		printf("%d checks failed\n", check_failures);
		return 1;
	}
	return 0;
}

// Package espimage checks what a station is about to write into a module's
// flash, before a single byte is written: ESP application and bootloader
// images (esp-idf app_image_format), their Secure Boot V2 signature blocks,
// and the partition table.
//
// Sources: esp-idf docs/en/api-reference/system/app_image_format.rst and
// docs/en/security/secure-boot-v2.rst; the layout was checked against
// Espressif's signed test images (shared/vectors/espressif/secure_boot_v2,
// ESP-FACTS §6). All integers are little-endian.
//
// Rules, each a refusal naming the file and what is wrong:
//   - an image starts with magic 0xE9, has 1..16 segments that fit in the
//     file, the XOR checksum (seed 0xEF) at the end of the 16-byte aligned
//     segment data, and — when the header says so — the SHA-256 of all that;
//   - its chip ID (header byte 12) is the chip on the jig;
//   - it carries 1..3 Secure Boot V2 signature blocks in the 4 KB sector after
//     the image, each with a good CRC, the SHA-256 of the padded image, a
//     valid RSA-3072-PSS or ECDSA P-256 signature, and a key digest among the
//     product's configured digests;
//   - a partition table keeps esp_secure_cert and the factory NVS partition
//     where the credentials live, and no write may overlap them.
package espimage

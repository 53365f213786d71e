// Package factorydata builds and reads the Matter factory data of a module
// as esp-matter firmware reads it (FLASH-CONTRACT.md, ESP-FACTS §1–§3):
//
//   - esp_secure_cert: the DAC key entries (PRIV_KEY, or SEC_CFG / salt when
//     the key never reaches flash), CA_CERT = PAI, DEV_CERT = DAC, then an
//     INTEGRITY entry and the end marker — the layout esp-matter's
//     secure-cert DAC provider (ESP32SecureCertDACProvider) reads;
//   - the factory NVS partition `fctry`, namespace `chip-factory`: the
//     commissionable data, serial number, VID/PID, product information,
//     rotating-ID unique ID and the Certification Declaration, in one fixed
//     order — the keys ESP32FactoryDataProvider reads.
//
// Invariants:
//   - The input is the set of line-protocol items a module committed; each
//     value is re-validated (lineproto.ValidateItem) before it is mapped.
//   - The NVS partition is byte-identical to Espressif's generator fed the
//     equivalent CSV (CSV renders it), because both go through package nvs.
//   - No private key is an input of the NVS side; the secure-cert side takes
//     the module's own key entries (the module builds them, never the host).
package factorydata

// Package batch moves CSRs out of and DACs into the station store through
// air-gap bundles (airgap-bundles/bundle).
//
// Export ("lineclient batch export") follows record, act, record: the batch
// and its modules are committed as exported (begin-export) before the bundle
// file exists; the file is then written atomically and read back; then
// export-written is committed. The bundle is a pure function of the store
// (same batch ID, creation time, CSR lines in MAC order), so after a crash
// anywhere in between the next export writes the very same manifest again,
// and the appliance recognises it as the same batch.
//
// Import ("lineclient batch import") verifies the bundle (age to this
// station, appliance signature, structure, hashes, not consumed), then every
// DAC: it must chain to the station's PAI and PAA under the Matter rules,
// certify exactly the key of its module's CSR (SPKI byte-equal), carry the
// station's VID/PID, and match the Certification Declaration when the station
// has one. A DAC that fails is recorded as a per-module refusal; a DAC for a
// key this station never sent, or a bundle answering a batch it never
// exported, refuses the whole bundle. Everything is committed in one
// transaction that also marks the bundle consumed.
package batch

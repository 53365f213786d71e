// Package chaos holds the end-to-end chaos tests that `just chaos` runs (see
// scripts/chaos.sh): the built `appliance` and `lineclient` programs, a real
// SoftHSM2 appliance, a real station home and the module simulator on
// pseudo-terminals, driven the way a factory drives them — and killed, cut
// and disturbed the way a factory floor does.
//
//   - TestCeremonyKills: `appliance sign` SIGKILLed at random instants and
//     stopped at random named crash points (DACLINE_TEST_CRASH_AT), batch
//     after batch; after every kill the audit log is read back, and after every
//     finished batch the station imports the return bundle.
//   - TestFaultyShift: a whole shift in rounds (keygen, export, ceremony,
//     import, write/attest/lock, next modules on the jigs) on a simulator with
//     line noise, dropped bytes, disconnects, reboots during lock and lying
//     modules (their DACs must be listed unused in the manifest), with the
//     station SIGKILLed at random instants.
//   - TestHostileCSRs (issue 12): batches from a hostile station — keys in
//     non-canonical DER, clones of certified keys in another encoding, wrong
//     curves, bad proofs of possession, oversize CSRs, keys repeated across
//     and within batches — through `appliance sign` under a station quota:
//     every ceremony finishes, --dry-run decides as the run, every CSR gets
//     the refusal it is owed, one DAC per key, the quota holds.
//   - TestStationRestore: the station home restored mid-shift from a copy
//     taken while the modules were dac-received, after they were locked:
//     every module is reconciled from its own read-back, none scrapped.
//   - TestDamagedStore: station.db and appliance.db truncated, emptied,
//     removed and with pages flipped: clear refusals, nothing re-created;
//     after the backups are restored the shift goes on to the end.
//
// All end by checking the invariants of issues 5 and 8 against every source
// of truth there is — the modules' own persisted state, the station store
// (`lineclient status --check`), the appliance's audit log (`appliance log
// show`) and `appliance audit verify` over a fresh log export with the line
// manifest: exactly one key per module and one DAC per key, no DAC lost, no
// serial twice, no module locked without a DAC for its own key that it proved
// it holds, and a log that verifies. Each logs one "chaos:" summary line of
// what it survived.
//
// The package has only tests. Sizes come from the environment (defaults keep
// `go test ./...` to seconds): DACLINE_CHAOS_CEREMONY_KILLS,
// DACLINE_CHAOS_CEREMONY_CSRS, DACLINE_CHAOS_SHIFT_KILLS,
// DACLINE_CHAOS_SHIFT_JIGS, DACLINE_CHAOS_SHIFT_ROUNDS,
// DACLINE_CHAOS_HOSTILE_ROUNDS, DACLINE_CHAOS_RESTORE_JIGS,
// DACLINE_CHAOS_FAULTS, DACLINE_CHAOS_SEED; DACLINE_BIN names a directory holding prebuilt
// `appliance` and `lineclient` (otherwise the tests build them).
package chaos

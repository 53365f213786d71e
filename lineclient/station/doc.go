// Package station is the line client's durable memory: one record per module
// (keyed by its MAC / chip ID) in the station's bbolt file, moved through an
// explicit state machine by named transactions.
//
// States, in order (see state.go for the full transition table):
//
//	identified → key-generated → exported → dac-received → writing →
//	credentials-written → attested → locking → locked → done
//
// plus failed, which keeps the state it failed from and a reason
// (refused-by-appliance, lying-module, …).
//
// Every transition is exactly one committed bbolt transaction with a name
// ("record-csr", "begin-lock", …); bbolt fsyncs on commit. Callers follow
// "record, act, record": the intent of an irreversible step ("locking" before
// the lock command, "writing" before credentials go out) is committed before
// the step runs, and its result is committed after. A station killed at any
// instant therefore restarts in a state from which the next step is safe, and
// what the module reports when it is seen again (key present, credential
// digests, lock state) settles any doubt.
//
// Invariants the store enforces (and CheckInvariants verifies):
//
//   - a module gets one key: its CSR is stored once and never replaced, and no
//     two modules share a CSR public key (index by SPKI SHA-256);
//   - a module gets one DAC: a DAC is stored only for a module in state
//     exported, in the same transaction that leaves that state, and is never
//     replaced;
//   - no DAC is lost: DACs enter the store in the transaction that marks their
//     return batch consumed;
//   - no module is locked without a written and attested DAC: begin-lock is
//     allowed only from attested (and locking), relock only from locked.
//
// Indexes (by state, by batch, by SPKI) and counters (per state, per batch and
// state) are maintained inside the same transactions, so status is a handful
// of reads and the manifest walks only finished modules, even with millions of
// records.
//
// A state file that bbolt cannot open, that lacks this package's schema
// marker, or whose records do not decode is refused with ErrCorrupt and a hint
// on how to recover; it is never reset.
package station

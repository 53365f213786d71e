// Package runner drives the jigs: one worker per serial port, all in
// parallel, each polling its port with IDENTIFY to see modules arrive and
// leave (no answer = empty jig; another MAC = another module), and giving
// every module the next step its record in the station store allows:
//
//	identified           → GENERATE_KEY, store the CSR with fresh onboarding data
//	key-generated/exported → nothing until the batch returns
//	dac-received/writing → write DAC, PAI, CD and onboarding items, confirm digests
//	credentials-written  → ATTEST a fresh 32-byte nonce; verify it under the DAC
//	                       key and validate DAC→PAI→PAA and the CD, as a commissioner
//	attested/locking     → record "locking", then LOCK every step in order
//	locked               → check the lock state in a fresh IDENTIFY reply (it names
//	                       the chip, so a module swapped in cannot answer for this
//	                       one); done — or, if incomplete, relock (LOCK is
//	                       idempotent), failing lock-failed after 3 relocks
//
// Every step follows record, act, record (see lineclient/station), and what the
// module reports on IDENTIFY (key SPKI digest, committed item digests, lock
// mask) is reconciled with the record before anything is sent: a module whose
// key is not its CSR's, or that reports lock fuses the station never started,
// fails with a reason and is never written or locked. A failure that rests on
// a module's reply (a refused DAC, a bad attestation, a failed burn) is only
// recorded after re-identifying the module on the jig as the same one; the
// protocol client stops a command whose jig announces another module (BOOT
// with another chip ID, lineproto.ErrModuleChanged) instead of resending it.
//
// With --until-idle, a port counts as idle only when no step is running on it
// and none did work for the idle timeout.
//
// A fault of the station itself (its disk full, quota reached or read-only:
// ENOSPC, EDQUOT, EROFS from the store) is no fault of the module: the worker
// that meets it ends the whole run with that error instead of retrying the
// module, and every other port stops at its next step.
//
// Stopping (Ctrl-C) is honoured between steps: a worker finishes the step it is
// in (a lock sequence runs to its end) and then returns.
package runner

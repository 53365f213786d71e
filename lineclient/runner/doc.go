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
//	locked               → read the lock state back; done
//
// Every step follows record, act, record (see lineclient/station), and what the
// module reports on IDENTIFY (key SPKI digest, committed item digests, lock
// mask) is reconciled with the record before anything is sent: a module whose
// key is not its CSR's, or that reports lock fuses the station never started,
// fails with a reason and is never written or locked.
//
// Stopping (Ctrl-C) is honoured between steps: a worker finishes the step it is
// in (a lock sequence runs to its end) and then returns.
package runner

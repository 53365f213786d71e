// Package storecheck inspects a bbolt store file before bbolt maps it, so that a
// missing, emptied, truncated or overwritten store is refused with a clear error
// instead of being re-created, crashing the process with SIGBUS, or panicking
// inside bbolt ("invalid freelist page").
//
// Both homes (the appliance's appliance.db and the station's station.db) call
// Check before bbolt.Open. It reads the file with ReadAt only (no mmap), so any
// content, however hostile, yields an error and never a fault.
//
// Invariants:
//
//   - A missing file is ErrMissing and a zero-length file is ErrEmpty: in an
//     initialised home both mean data was lost, and the caller must refuse,
//     never re-create (bbolt.Open would silently make a new empty store).
//   - Anything else that is not a consistent bbolt file is ErrDamaged, with the
//     reason. At least one meta page must carry bbolt's magic, version 2, the
//     meta page flag and a valid checksum (valid ones agree on one page size):
//     like bbolt, Check accepts one torn meta page, which is what a power cut
//     during a commit leaves, and goes on with the valid one of higher txid,
//     the one bbolt will use. That meta's high water mark must fit in the file
//     (a truncated file is caught here, before bbolt would map pages past its
//     end); the root and freelist pages it names must lie below the mark and
//     carry the right page type; every page id in its freelist must lie below
//     the mark. The other meta page's root and freelist are not checked: a
//     later transaction may have reused them, which is normal.
//   - Check never writes.
//
// What it does not see: damage inside the B+tree below the root page (a
// flipped leaf deep in a bucket). The programs that use bbolt turn a panic in
// a transaction into a "store is damaged" error; `bbolt check FILE` walks the
// whole tree when an operator wants certainty.
package storecheck

// Package sim runs virtual Matter modules behind pseudo-terminals so that
// stations, tests and demos drive them through the same serial code
// (go.bug.st/serial via lineclient/transport) as real jigs.
//
// Model: a Jig is a pseudo-terminal (the jig's USB-UART bridge: its device
// path never changes) holding at most one module at a time; a module is a
// persistent identity (MAC derived from seed and index) with the firmware
// behaviour of docs/line-protocol.md. Modules can be removed from and
// inserted into jigs (Jig.Remove, Jig.Insert, or Options.ModulesPerJig for
// the CLI); an empty jig is silent.
//
// Invariants the simulator enforces, and tests check through ModuleInfo:
//   - a module generates at most one key in its life, inside the module; the
//     private key is never put in a frame (only its CSR, SPKI digest and
//     signatures leave);
//   - the state only moves forward (unprovisioned → key-generated →
//     credentials-written → locking → locked); the lock mask is always a
//     prefix of the burn order; nothing clears a burned step;
//   - lock steps need every item committed and a DAC for the module's key;
//     once a step is burned, no key generation and no credential writes;
//     debug is off from the flash-encryption step on;
//   - durable state (key, CSR, committed items, lock mask) is saved
//     atomically in Options.StateDir before a reply reports it; RAM state
//     (staged chunks, the reply cache) is lost on every reset or removal;
//   - with a StateDir, each module's SPI flash is a 4 MiB image file
//     (flash-<mac>.bin, flash.go) holding what the line protocol wrote, in
//     Espressif's formats (docs/esp32.md): the key entry of esp_secure_cert
//     is written at GENERATE_KEY and never lost, whatever instant the
//     process dies (in-place programming or a journal).
//
// With Options.Download a module starts in its chip's serial ROM loader
// instead (download.go): it answers the ESP ROM-loader protocol against its
// flash image and eFuse state until FLASH_END boots its firmware; tests put
// a module back into the loader with Jig.ResetIntoDownload, as a jig's
// boot-strap wiring does.
//
// Faults (Options.Faults) corrupt real bytes on the wire or reset the
// module; they never break the invariants above — except Lying, which
// models a broken or malicious module and must be caught by the station's
// attestation check.
package sim

// Package quorum is dual control of the appliance's token: its PINs are split
// (package shamir) into one share per named officer, any Threshold of whom
// unlock it together. Nobody knows the PINs: they exist only in memory,
// while a command runs.
//
// What is stored where:
//
//   - config.json holds the public Config: the quorum's random ID, the
//     threshold, each officer's name, age recipient and share x-coordinate,
//     a SHA-256 commitment to each share, and a check of the whole secret.
//   - Each officer holds a share file: the Share (appliance name, quorum ID,
//     officer, x, y) encrypted with age to that officer's own recipient —
//     or, for paper storage, the same share printed as groups of characters
//     with a checksum (paper.go). A share is never on disk unencrypted.
//
// Invariants:
//   - The shared secret is the PINs followed by 32 random bytes. The
//     commitments in config.json therefore cannot be used to guess a short
//     PIN: without a quorum the random tail is unknown, and M−1 shares say
//     nothing about it (shamir).
//   - Combine refuses, naming the share: a share of another appliance or
//     another quorum (a re-shared one), a share whose bytes differ from its
//     commitment (corrupted), two shares of one officer, an officer not in
//     the quorum, and fewer shares than the threshold. Only then are the
//     shares combined, and the result must match the check.
//   - Errors and logs name officers, never a share's bytes or the PINs.
package quorum

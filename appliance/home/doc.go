// Package home is the appliance home directory: the one place the appliance keeps
// state, and the only code that knows its layout.
//
//	<home>/                 0700
//	  config.json           0600  Config: HSM module and token, key labels and public keys, name
//	  appliance.db          0600  bbolt store, opened once per process; other packages add buckets
//	  identity.age.enc      0600  the age X25519 identity, AES-256-GCM under a token key
//	  softhsm2.conf, tokens/      with --new-softhsm-token only: the SoftHSM2 token lives here
//	  paa.pem, pai.pem      0644  the PAA and PAI certificates once created or imported
//	  tmp/                  0700  bundle temporary files (decrypted copies, spools); what a
//	                              killed run left is removed by the next command reading bundles
//
// Invariants:
//
//   - Every private or secret key is in the token (package hsm); nothing on disk
//     here is secret in plaintext. The age identity is stored only sealed under a
//     non-extractable AES key of the token.
//   - Init is all or nothing: the home is built in a temporary directory next to
//     the target and renamed into place at the end; a failed init leaves no home
//     (and destroys keys it made on an external token), so it can be re-run. Init
//     never overwrites an existing home.
//   - A killed init or `paa create-test` can be re-run (initjournal.go): before
//     making token objects they journal the CKA_IDs they will carry; a re-run
//     destroys exactly the objects a killed run journaled (class, label and ID
//     equal, so never another appliance's) and removes its temporary home.
//   - appliance.db is checked before bbolt maps it (shared/storecheck): a missing,
//     empty or damaged store in an initialised home is refused, never re-created.
//   - Files that must not exist yet are created atomically (writeFileNew): a kill
//     leaves the whole file or none.
//   - The config records each key's public key; opening the token refuses a token
//     whose keys under those labels are different keys.
//   - Nothing goes into use before its audit log entry is committed (audit.go):
//     init writes appliance-init and a key-generated entry per key, and signs
//     the first checkpoint, inside the temporary home before it is published;
//     the test PAA key is logged before config.json names it; a PAI is logged
//     before pai.pem appears. Resumed steps do not log the same thing twice.
//   - The newest signed checkpoint of the audit log is anchored on the token
//     (anchor.go, data object dacline-log-anchor), outside the home; every
//     command that signs or appends first proves the home's log is not older
//     than it (Unlocked.CheckAnchor), so a home restored from a backup is
//     refused until RestoreLog brings the missing tail back.
//   - The PAI installed is a valid Matter PAI for exactly the token's PAI key and
//     chains to the installed PAA.
package home

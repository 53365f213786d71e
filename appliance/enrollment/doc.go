// Package enrollment is the appliance's station registry: which stations may send it
// CSR batches, with which keys, and which were revoked.
//
// A station enrolls with a self-signed enrollment bundle (proof that it holds the key in
// station.json); the officer compares the fingerprint shown here with the one on the
// station's screen before confirming. Records live in the bbolt bucket "stations" of the
// appliance store (name → Station JSON). Enrolling is one transaction that re-checks the
// name and key, records the station and marks the enrollment bundle's batch consumed.
// A revoked station is never deleted, and its name and keys are never enrolled again.
package enrollment

// Package stationhome is the station's home directory: its identity keys, the trust
// anchors it got from the appliance, its product settings and its bbolt state file.
//
// Layout (dir is 0700; secret files are 0600 and Open refuses looser modes):
//
//	config.json          product settings: station name, VID, PID, appliance name, and the
//	                     optional product-info fields (vendor name … product URL) every
//	                     module gets (line-protocol item 0x0C; checked at Open)
//	station.id           the station's public identity (bundle.StationIdentity)
//	age-identity.txt     age X25519 identity (secret, 0600)
//	ed25519-key.pem      Ed25519 signing key, PKCS#8 PEM (secret, 0600)
//	appliance.id         the appliance's public identity (bundle.ApplianceIdentity)
//	paa.pem, pai.pem     trust anchors, copied from appliance.id
//	cd.der               Certification Declaration (optional)
//	station.db           bbolt: bucket "consumed-batches" (dac-batch IDs imported);
//	                     the station state store (lineclient/station) adds its buckets
//	tmp/                 bundle temporary files, 0700 (Home.TempDir); what a killed
//	                     run left is removed by the next command that reads or writes bundles
//
// Init is all-or-nothing: the home is built in a temporary sibling directory and renamed
// into place, so a crash leaves either no home or a complete one.
package stationhome

package station

// ReasonDACRevoked: the module's DAC is on the latest CRL the station imported
// (`lineclient crl import`); the station never writes it.
const ReasonDACRevoked Reason = "dac-revoked"

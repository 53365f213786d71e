package ceremony

// CrashHook, when set, is called at each named point of a ceremony. The
// crash tests set it (appliance/ceremony/crashtest) to end the process at one
// point the way a power cut would; the appliance itself never sets it, so in
// production crashPoint does nothing. Points:
//
//	after-start       the ceremony record (plan, refusals) is committed, no DAC yet
//	before-commit     a DAC chunk is signed but not committed (its DACs are lost)
//	after-commit      a DAC chunk is committed
//	after-issued      every DAC is committed and the checkpoint recorded
//	bundle-write      while the return bundle is being built, after each DAC line
//	after-bundle      the bundle file is on the output medium, not yet recorded
//
// Set it before the ceremony starts; it is called from the ceremony's
// goroutines and must be safe for concurrent use.
var CrashHook func(point string)

// crashPoint calls CrashHook, if a test set one.
func crashPoint(point string) {
	if h := CrashHook; h != nil {
		h(point)
	}
}

package crl

import (
	"strings"
	"testing"
)

func TestReadSerialsFile(t *testing.T) {
	ss, err := ReadSerialsFile(strings.NewReader("# revoke\n40aa\n\n0x41:BB\n"), "f")
	if err != nil || len(ss) != 2 || ss[1].Hex() != "41bb" || ss[1].Source != "f:4" {
		t.Fatalf("%v %v", ss, err)
	}
	for _, bad := range []string{"zz\n", "0\n", "-1\n", strings.Repeat("ab", 21) + "\n"} {
		if _, err := ReadSerialsFile(strings.NewReader(bad), "f"); err == nil || !strings.Contains(err.Error(), "f:1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

const header = "mac,serial_number,dac_serial,dac_sha256,vid,pid,discriminator,passcode,qr_payload,manual_code,batch_id,locked_at,status,reason\n"

func TestReadUnusedFromManifest(t *testing.T) {
	m := header + "a,,40AA,,FFF1,8000,,,,,b,,deployed,\n" + "b,,41BB,,FFF1,8000,,,,,b,,unused,lying-module\n"
	ss, err := ReadUnusedFromManifest(strings.NewReader(m), "m.csv")
	if err != nil || len(ss) != 1 || ss[0].Hex() != "41bb" || ss[0].Source != "m.csv:3" {
		t.Fatalf("%v %v", ss, err)
	}
	for name, bad := range map[string]string{
		"no status column": "mac,dac_serial\na,40aa\n",
		"bad status":       header + "a,,40AA,,FFF1,8000,,,,,b,,scrapped,\n",
		"bad serial":       header + "a,,nothex,,FFF1,8000,,,,,b,,unused,\n",
		"short row":        header + "a,b\n",
	} {
		if _, err := ReadUnusedFromManifest(strings.NewReader(bad), "m.csv"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseReason(t *testing.T) {
	for _, ok := range []string{"keyCompromise", "KEYCOMPROMISE", "5", "superseded"} {
		if _, err := ParseReason(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"certificateHold", "6", "removeFromCRL", "cACompromise", ""} {
		if _, err := ParseReason(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzReadSerialsFile(f *testing.F) {
	f.Add("40aa\n# x\n0x41:bb\n")
	f.Fuzz(func(t *testing.T, s string) {
		ss, err := ReadSerialsFile(strings.NewReader(s), "f")
		for _, x := range ss {
			if err == nil && (x.N.Sign() <= 0 || len(x.N.Bytes()) > 20) {
				t.Fatalf("accepted serial %v", x.N)
			}
		}
	})
}

func FuzzReadUnusedFromManifest(f *testing.F) {
	f.Add(header + "b,,41BB,,FFF1,8000,,,,,b,,unused,x\n")
	f.Fuzz(func(t *testing.T, s string) {
		ReadUnusedFromManifest(strings.NewReader(s), "m") //nolint:errcheck // must not panic
	})
}

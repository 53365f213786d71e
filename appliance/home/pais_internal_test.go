package home

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfigPAIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		pais []PAIRecord
		want string
	}{
		{"incomplete", []PAIRecord{{Label: "dacline-pai-2"}}, "pais[0] is incomplete"},
		{"bad label", []PAIRecord{{Label: "Dacline PAI", PublicKey: "AA=="}}, "pais[0].label"},
		{"first label again", []PAIRecord{{Label: "p", PublicKey: "AA=="}}, "used twice"},
		{"twice", []PAIRecord{{Label: "dacline-pai-2", PublicKey: "AA=="}, {Label: "dacline-pai-2", PublicKey: "AB=="}}, `pais[1].label "dacline-pai-2" is used twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			c.PAIs = tc.pais
			raw, _ := json.Marshal(c)
			_, err := parseConfig(raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	c := validConfig()
	c.PAIs = []PAIRecord{{Label: "dacline-pai-2", PublicKey: "AA==", VID: "FFF1", Retired: true}}
	raw, _ := json.Marshal(c)
	if _, err := parseConfig(raw); err != nil {
		t.Fatal(err)
	}
}

func TestParseRotateJournal(t *testing.T) {
	label, id, err := parseRotateJournal([]byte("dacline-pai-2 00112233445566778899aabbccddeeff\n"))
	if err != nil || label != "dacline-pai-2" || len(id) != 16 {
		t.Fatalf("%q %x %v", label, id, err)
	}
	for _, bad := range []string{"", "dacline-pai-2", "dacline-pai-2 0011", "Bad/Label 00112233445566778899aabbccddeeff", "a b c", "dacline-pai-2 zz112233445566778899aabbccddeeff"} {
		if _, _, err := parseRotateJournal([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseRotateJournal(f *testing.F) {
	f.Add([]byte("dacline-pai-2 00112233445566778899aabbccddeeff\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		label, id, err := parseRotateJournal(b)
		if err == nil && (!validPAILabel(label) || len(id) != 16) {
			t.Fatalf("accepted %q %x", label, id)
		}
	})
}

func FuzzParseConfigWithPAIs(f *testing.F) {
	c := validConfig()
	c.PAIs = []PAIRecord{{Label: "dacline-pai-2", PublicKey: "AA==", VID: "FFF1", PID: "8001"}}
	good, _ := json.Marshal(c)
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConfig(b)
		if err == nil && c.validate() != nil {
			t.Fatal("parseConfig accepted an invalid config")
		}
	})
}

package auditlog

import (
	"strings"
	"testing"
	"time"
)

// TestPAIEntriesRefuseBadFields: each rule of the PAI lifecycle entries.
func TestPAIEntriesRefuseBadFields(t *testing.T) {
	at := time.Date(2026, 12, 8, 5, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		e    Entry
		want string
	}{
		{"renewal to the same certificate", &PAIRenewed{Label: "dacline-pai", NewNotAfter: Timestamp{at}, NewPAISHA256: hashHex(3), OldPAISHA256: hashHex(3), PAASHA256: hashHex(2), Subject: "CN=x"}, "new_pai_sha256 equals old_pai_sha256"},
		{"renewal without notAfter", &PAIRenewed{Label: "dacline-pai", NewPAISHA256: hashHex(4), OldPAISHA256: hashHex(3), PAASHA256: hashHex(2), Subject: "CN=x"}, "new_not_after is required"},
		{"renewal without label", &PAIRenewed{NewNotAfter: Timestamp{at}, NewPAISHA256: hashHex(4), OldPAISHA256: hashHex(3), PAASHA256: hashHex(2), Subject: "CN=x"}, "label is required"},
		{"added without vid", &PAIAdded{Label: "dacline-pai-2", PAASHA256: hashHex(2), PAISHA256: hashHex(8), PublicKeySHA256: hashHex(9), Subject: "CN=x"}, "vid is required"},
		{"added with a bad key hash", &PAIAdded{Label: "dacline-pai-2", PAASHA256: hashHex(2), PAISHA256: hashHex(8), PublicKeySHA256: "AB", Subject: "CN=x", VID: 0xFFF1}, "public_key_sha256"},
		{"retired without hash", &PAIRetired{Label: "dacline-pai", Subject: "CN=x"}, "pai_sha256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.e.SetHeader(1, at)
			if _, err := Marshal(c.e); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	for _, ty := range []Type{TypePAIAdded, TypePAIRenewed, TypePAIRetired} {
		b, err := Marshal(sampleOf(ty))
		if err != nil {
			t.Fatal(err)
		}
		if e, err := ParseEntry(b); err != nil || e.EntryType() != ty {
			t.Fatalf("%s: %v", ty, err)
		}
	}
}

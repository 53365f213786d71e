package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// sampleEntries returns one valid entry of every type, headers set.
func sampleEntries() []Entry {
	es := []Entry{
		&ApplianceInit{Appliance: "lab <1>", NoteVerifier: "lab+01020304+AQ=="},
		&KeyGenerated{Attributes: map[string]bool{"CKA_SENSITIVE": true, "CKA_EXTRACTABLE": false, "CKA_ALWAYS_SENSITIVE": true},
			KeyType: "ed25519", Label: "appliance-signing", PublicKeySHA256: hashHex(1)},
		&KeyGenerated{Attributes: map[string]bool{"CKA_SENSITIVE": true, "CKA_EXTRACTABLE": false, "CKA_LOCAL": true},
			KeyType: KeyTypeAES256, Label: "age-wrap", PublicKeySHA256: ""},
		&PAIImported{PAASHA256: hashHex(2), PAISHA256: hashHex(3), PID: 0x8000, Subject: "CN=Test PAI,1.3.6.1.4.1.37244.2.1=FFF1", VID: 0xFFF1},
		stationEntry("line-1", "1234 5678", 4),
		&StationRevoked{Reason: "stolen laptop", Station: "line-1"},
		&PolicyChanged{PolicySHA256: hashHex(5)},
		&CeremonyStarted{BatchID: "b1", BundleSHA256: hashHex(6), Officer: "Zoë Ñandú", PolicySHA256: hashHex(5), Station: "line-1"},
		dacEntry("line-1", "b1", 7, 0),
		&CSRRefused{BatchID: "b1", Index: 1, ModuleID: "24:0a:c4:00:01:02", Reason: "public key already certified \"twice\"\n", Station: "line-1", VID: 0xFFF1, PID: 0x8000},
		&BundleWritten{BatchID: "b1", BundleSHA256: hashHex(8), FileName: "b1.dac-batch"},
		&CeremonyFinished{BatchID: "b1", Issued: 1, Refused: 1, Station: "line-1"},
		&LogExported{PreviousTreeSize: 12},
		&LogAnchored{Officer: "alice"},
		&PAIAdded{Label: "dacline-pai-fff1-2", PAASHA256: hashHex(2), PAISHA256: hashHex(8), PID: 0, PublicKeySHA256: hashHex(9), Subject: "CN=PAI 2, VID=FFF1", VID: 0xFFF1},
		&PAIRenewed{Label: "dacline-pai", NewNotAfter: Timestamp{time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)}, NewPAISHA256: hashHex(10), OldPAISHA256: hashHex(3), PAASHA256: hashHex(2), Subject: "CN=Test PAI, VID=FFF1"},
		&PAIRetired{Label: "dacline-pai", PAISHA256: hashHex(10), Subject: "CN=Test PAI, VID=FFF1"},
		&CeremonyAbandoned{BatchID: "b2", Issued: 2, Officer: "alice", Reason: "station lost", Serials: []string{"40aa", "41bb"}, Station: "line-1"},
		// revocation and quorum
		&CRLIssued{Added: []string{"40aa"}, CRLNumber: 2, CRLSHA256: hashHex(9), NextUpdate: Timestamp{time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC)},
			Officer: "alice", PAISHA256: hashHex(3), Reason: "cessationOfOperation", Revoked: 3, ThisUpdate: Timestamp{time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}},
		&QuorumCreated{Officers: []string{"alice", "bob", "carol"}, QuorumID: "0a1b2c", Threshold: 2},
		&QuorumUnlocked{Command: "crl issue", Officers: []string{"alice", "carol"}, QuorumID: "0a1b2c"},
	}
	at := time.Date(2026, 11, 25, 9, 30, 1, 123456000, time.FixedZone("CET", 3600))
	for i, e := range es {
		e.SetHeader(int64(i), at)
	}
	return es
}

// sampleOf is the first sample entry of type ty.
func sampleOf(ty Type) Entry {
	for _, e := range sampleEntries() {
		if e.EntryType() == ty {
			return e
		}
	}
	panic("no sample of " + ty)
}

func TestEveryTypeHasASample(t *testing.T) {
	seen := map[Type]bool{}
	for _, e := range sampleEntries() {
		seen[e.EntryType()] = true
	}
	for _, ty := range Types() {
		if !seen[ty] || NewEntry(ty) == nil || NewEntry(ty).EntryType() != ty {
			t.Errorf("type %s: no sample or constructor", ty)
		}
	}
}

// TestFieldsSorted guards the trick that makes encoding/json canonical:
// struct fields declared in sorted JSON-name order, none omitempty.
func TestFieldsSorted(t *testing.T) {
	for _, e := range sampleEntries() {
		typ := reflect.TypeOf(e).Elem()
		var names []string
		for i := 0; i < typ.NumField(); i++ {
			tag := typ.Field(i).Tag.Get("json")
			if tag == "" || strings.Contains(tag, ",") {
				t.Errorf("%s.%s: json tag %q must be a bare name", typ.Name(), typ.Field(i).Name, tag)
			}
			names = append(names, tag)
		}
		if !sort.StringsAreSorted(names) {
			t.Errorf("%s: fields not in sorted JSON order: %v", typ.Name(), names)
		}
	}
}

// canonicalReference re-encodes JSON through generic maps (sorted keys) as
// an independent definition of canonical form.
func canonicalReference(t *testing.T, data []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	out, err := marshalCanonical(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMarshalCanonicalAndRoundTrip(t *testing.T) {
	for _, e := range sampleEntries() {
		b, err := Marshal(e)
		if err != nil {
			t.Fatalf("%s: %v", e.EntryType(), err)
		}
		if ref := canonicalReference(t, b); !bytes.Equal(ref, b) {
			t.Errorf("%s: not canonical:\n got %s\nwant %s", e.EntryType(), b, ref)
		}
		if bytes.IndexByte(b, '\n') >= 0 {
			t.Errorf("%s: raw newline in encoding", e.EntryType())
		}
		got, err := ParseEntry(b)
		if err != nil {
			t.Fatalf("%s: ParseEntry of own encoding: %v\n%s", e.EntryType(), err, b)
		}
		if !reflect.DeepEqual(got.Header(), e.Header()) || got.EntryType() != e.EntryType() {
			t.Errorf("%s: header changed in round trip: %+v vs %+v", e.EntryType(), got.Header(), e.Header())
		}
		b2, _ := Marshal(got)
		if !bytes.Equal(b, b2) {
			t.Errorf("%s: round trip changed bytes", e.EntryType())
		}
	}
}

func TestCanonicalDetails(t *testing.T) {
	es := sampleEntries()
	b, _ := Marshal(es[0])
	if !bytes.Contains(b, []byte(`"appliance":"lab <1>"`)) {
		t.Errorf("HTML characters must not be escaped: %s", b)
	}
	if !bytes.Contains(b, []byte(`"time":"2026-11-25T08:30:01.123456Z"`)) {
		t.Errorf("time not canonical UTC: %s", b)
	}
	b, _ = Marshal(sampleOf(TypeCeremonyStarted))
	if !bytes.Contains(b, []byte("Zoë Ñandú")) {
		t.Errorf("non-ASCII must be raw UTF-8: %s", b)
	}
}

func TestParseEntryRejects(t *testing.T) {
	good, _ := Marshal(sampleOf(TypeDACIssued))
	g := string(good)
	cases := []struct {
		name, in string
		want     error
	}{
		{"unknown field", strings.Replace(g, `{"batch_id"`, `{"a":1,"batch_id"`, 1), nil},
		{"missing field", strings.Replace(g, `"index":0,`, ``, 1), ErrNotCanonical},
		{"whitespace", strings.Replace(g, `,"index"`, `, "index"`, 1), ErrNotCanonical},
		{"keys out of order", strings.Replace(strings.Replace(g, `"index":0,`, ``, 1), `{`, `{"index":0,`, 1), ErrNotCanonical},
		{"duplicate key", strings.Replace(g, `"index":0,`, `"index":0,"index":0,`, 1), ErrNotCanonical},
		{"trailing newline", g + "\n", ErrNotCanonical},
		{"trailing object", g + `{}`, nil},
		{"uppercase hash", strings.Replace(g, hashHex("dac", 7), strings.ToUpper(hashHex("dac", 7)), 1), nil},
		{"short hash", strings.Replace(g, hashHex("dac", 7), "abcd", 1), nil},
		{"serial not canonical", strings.Replace(g, `"serial":"010007"`, `"serial":"0010007"`, 1), nil},
		{"serial zero", strings.Replace(g, `"serial":"010007"`, `"serial":"00"`, 1), nil},
		{"time with offset", strings.Replace(g, `Z"`, `+00:00"`, 1), nil},
		{"time trailing zero", strings.Replace(g, `.123456Z"`, `.1234560Z"`, 1), nil},
		{"time not UTC", strings.Replace(g, `08:30:01.123456Z"`, `09:30:01.123456+01:00"`, 1), nil},
		{"float", strings.Replace(g, `"index":0`, `"index":0.0`, 1), nil},
		{"negative index", strings.Replace(g, `"index":0`, `"index":-1`, 1), nil},
		{"escaped html", strings.Replace(g, `"batch_id":"b1"`, `"batch_id":"b\u003c"`, 1), ErrNotCanonical},
		{"escaped ascii", strings.Replace(g, `"batch_id":"b1"`, `"batch_id":"\u00621"`, 1), ErrNotCanonical},
		{"unknown type", strings.Replace(g, `"dac-issued"`, `"dac-eaten"`, 1), ErrUnknownType},
		{"type mismatch", strings.Replace(g, `"dac-issued"`, `"csr-refused"`, 1), nil},
		{"not json", `dac-issued`, nil},
		{"empty", ``, nil},
		{"array", `[]`, nil},
		{"vid out of range", strings.Replace(g, `"vid":65521`, `"vid":65536`, 1), nil},
		{"vid zero", strings.Replace(g, `"vid":65521`, `"vid":0`, 1), nil},
		{"empty station", strings.Replace(g, `"station":"line-1"`, `"station":""`, 1), nil},
	}
	for _, c := range cases {
		if c.in == g {
			t.Errorf("%s: test case did not change the input", c.name)
			continue
		}
		_, err := ParseEntry([]byte(c.in))
		if err == nil {
			t.Errorf("%s: accepted %s", c.name, c.in)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		if strings.Contains(c.name, "hash") || c.name == "missing field" {
			if want := fmt.Sprintf("seq %d", sampleOf(TypeDACIssued).Header().Seq); !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error does not name the seq: %v", c.name, err)
			}
		}
	}
}

// TestNewEntryRules has one row per rule of the entry types this file's
// samples do not break elsewhere: key types and station keys.
func TestNewEntryRules(t *testing.T) {
	attrs := map[string]bool{"CKA_LOCAL": true}
	st := stationEntry("line-1", "ab", "x")
	other := stationEntry("line-2", "cd", "y")
	cases := []struct {
		name string
		e    Entry
		want string
	}{
		{"unknown key type", &KeyGenerated{Attributes: attrs, KeyType: "rsa", Label: "k", PublicKeySHA256: hashHex(1)}, "key_type"},
		{"p256 without public key", &KeyGenerated{Attributes: attrs, KeyType: KeyTypeP256, Label: "k"}, "public_key_sha256"},
		{"aes with public key", &KeyGenerated{Attributes: attrs, KeyType: KeyTypeAES256, Label: "k", PublicKeySHA256: hashHex(1)}, "must be empty"},
		{"no attributes", &KeyGenerated{KeyType: KeyTypeAES256, Label: "k"}, "attributes"},
		{"attribute not CKA_", &KeyGenerated{Attributes: map[string]bool{"sensitive": true}, KeyType: KeyTypeAES256, Label: "k"}, "not a PKCS#11 attribute"},
		{"station key hash of another key", func() Entry { e := *st; e.PublicKeySHA256 = other.PublicKeySHA256; return &e }(), "not the SHA-256"},
		{"station key not base64", func() Entry { e := *st; e.Ed25519PublicKey = "!!"; return &e }(), "ed25519_public_key"},
		{"station key short", func() Entry { e := *st; e.Ed25519PublicKey = "AAAA"; return &e }(), "ed25519_public_key"},
		{"station age recipient", func() Entry { e := *st; e.AgeRecipient = "ssh-ed25519 AAAA"; return &e }(), "age_recipient"},
		{"station bundle hash", func() Entry { e := *st; e.BundleSHA256 = ""; return &e }(), "bundle_sha256"},
	}
	for _, c := range cases {
		c.e.SetHeader(1, time.Now())
		_, err := Marshal(c.e)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Marshal error %v, want one naming %q", c.name, err, c.want)
		}
	}
	if _, err := NewStationEnrolled("line-1", "ab", "age1x", make([]byte, 31), hashHex(1)); err == nil {
		t.Error("NewStationEnrolled accepted a 31-byte key")
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	e := dacEntry("line-1", "b", 1, 0)
	if _, err := Marshal(e); err == nil {
		t.Error("entry without header accepted")
	}
	e.SetHeader(3, time.Now())
	e.SPKISHA256 = "nothex"
	if _, err := Marshal(e); err == nil || !strings.Contains(err.Error(), "spki_sha256") {
		t.Errorf("bad spki hash: %v", err)
	}
}

func TestSerials(t *testing.T) {
	for in, want := range map[string]string{"1A2B": "1a2b", "0x00ff": "ff", "01:02:03": "010203", "abc": "0abc", "80": "80"} {
		n, err := ParseSerial(in)
		if err != nil || SerialHex(n) != want {
			t.Errorf("ParseSerial(%q) = %v, %v; want %s", in, n, err, want)
		}
	}
	for _, bad := range []string{"", "0", "xyz", "-1", strings.Repeat("ff", 21)} {
		if _, err := ParseSerial(bad); err == nil {
			t.Errorf("ParseSerial(%q) accepted", bad)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	for _, e := range sampleEntries() {
		b, _ := Marshal(e)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"dac-issued"}`))
	f.Add([]byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"policy-changed","policy_sha256":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry(data)
		if err != nil {
			return
		}
		// Anything accepted is canonical: it re-encodes to the same bytes.
		b, err := Marshal(e)
		if err != nil {
			t.Fatalf("accepted entry does not marshal: %v\n%q", err, data)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("accepted non-canonical entry\n in %q\nout %q", data, b)
		}
	})
}

package chaos

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/matter/csrtest"
)

// hostileCSR is one CSR a hostile (or broken) station sends, with the
// refusal the appliance owes it ("" = a DAC).
type hostileCSR struct {
	kind   string
	der    []byte
	key    [32]byte // SHA-256 of the key's canonical SPKI; zero for a non-P-256 key
	reason string
}

// TestHostileCSRs (issue 12): batch after batch from a station that sends
// what an adversary would — keys in non-canonical DER (fresh ones, and
// clones of keys certified earlier), wrong curves and algorithms, bad
// proofs of possession, oversize requests, keys certified in an earlier
// batch and keys repeated within a batch — mixed with good CSRs, through
// the built `appliance sign` on SoftHSM2 with a station quota. Every
// ceremony must finish (none jams), --dry-run must decide exactly as the
// run, every CSR gets the refusal it is owed, and afterwards: exactly one
// DAC per key (compared in canonical form), the quota holds (a batch over
// it is refused whole), the station imports every return bundle, and the
// audit log verifies.
func TestHostileCSRs(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: builds and drives the programs")
	}
	rounds := max(envInt(t, "DACLINE_CHAOS_HOSTILE_ROUNDS", 3), 1)
	good := max(envInt(t, "DACLINE_CHAOS_HOSTILE_GOOD", 12), 2)
	f := newFactory(t)

	// Quota: exactly what the good CSRs of all rounds need.
	quota := rounds * good
	pol := filepath.Join(f.dir, "policy-quota.json")
	policy := fmt.Sprintf(`{"version":1,"max_batch_size":100000,"dac":{"common_name":"chaos DAC {serial}"},
"stations":[{"name":%q,"products":[{"vid":%q,"pids":[%q]}],"max_dacs":%d}]}`, stationName, vid, pid, quota)
	if err := os.WriteFile(pol, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	f.appliance("policy", "set", pol)

	var (
		certified []*ecdsa.PrivateKey  // keys with a DAC, from earlier rounds
		owed      = map[[32]byte]int{} // canonical key → DACs it must end with
		kinds     = map[string]int{}
		refused   = map[string]int{}
		next      = 1 << 20 // MACs apart from the other chaos tests'
	)
	for round := 1; round <= rounds; round++ {
		var csrs []hostileCSR
		fresh := make([]*ecdsa.PrivateKey, good-1)
		for i := range fresh {
			fresh[i] = p256(t)
			csrs = append(csrs, goodCSR(t, "good", fresh[i]))
		}
		// A key twice in the batch: the first is issued, the second refused.
		twice := p256(t)
		csrs = append(csrs, goodCSR(t, "good", twice), withReason(goodCSR(t, "duplicate-in-batch", twice), "duplicate-in-batch"))
		for _, v := range []string{csrtest.ExtraParameter, csrtest.TrailingBytes} {
			csrs = append(csrs, nonCanonical(t, "non-canonical-fresh", p256(t), v))
			if len(certified) > 0 {
				// A clone of a certified key in another encoding: the
				// digest differs, the key does not.
				csrs = append(csrs, nonCanonical(t, "non-canonical-clone", certified[(round+len(v))%len(certified)], v))
			}
		}
		if len(certified) > 0 {
			csrs = append(csrs, withReason(goodCSR(t, "certified-earlier", certified[round%len(certified)]), "key-already-certified"))
		}
		p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
		_, edKey, _ := ed25519.GenerateKey(rand.Reader)
		rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
		csrs = append(csrs,
			otherCSR(t, "wrong-curve-p384", p384, "not-p256"), otherCSR(t, "wrong-curve-p224", p224, "not-p256"),
			otherCSR(t, "ed25519", edKey, "not-p256"), otherCSR(t, "rsa", rsaKey, "not-p256"),
			badSignature(t, p256(t)), oversize(t, p256(t)))

		// The station records them as a hostile station would: whatever
		// key digest it likes (here one per module, so its own duplicate
		// check never fires), the appliance trusting none of it.
		macs := f.addHostileModules(&next, csrs)
		bundle := f.exportBatch()

		dry := f.signJSON("--dry-run", bundle)
		res := f.signJSON(bundle)
		if res.Outcome != "signed" || res.Issued != res.Accepted || res.OutputPath == "" {
			t.Fatalf("round %d: the ceremony did not finish: outcome %s, %d of %d issued", round, res.Outcome, res.Issued, res.Accepted)
		}
		if !reflect.DeepEqual(reasons(dry.Refusals), reasons(res.Refusals)) || dry.Accepted != res.Accepted {
			t.Errorf("round %d: --dry-run decided %v (%d accepted), the run %v (%d accepted)", round, reasons(dry.Refusals), dry.Accepted, reasons(res.Refusals), res.Accepted)
		}
		got := map[string]string{}
		logIdx := map[uint64]bool{}
		for _, rf := range res.Refusals {
			got[rf.ModuleID] = rf.Reason
			if rf.LogIndex == 0 || logIdx[rf.LogIndex] {
				t.Errorf("round %d: refusal of %s reports log index %d", round, rf.ModuleID, rf.LogIndex)
			}
			logIdx[rf.LogIndex] = true
		}
		for i, c := range csrs {
			kinds[c.kind]++
			if got[macs[i]] != c.reason {
				t.Errorf("round %d: %s csr (%s) refused as %q, want %q", round, c.kind, macs[i], got[macs[i]], c.reason)
			}
			if c.reason == "" {
				owed[c.key]++
			} else {
				refused[c.reason]++
				if _, ok := owed[c.key]; !ok && c.key != ([32]byte{}) {
					owed[c.key] = 0
				}
			}
		}
		out := f.lineclient("batch", "import", res.OutputPath)
		if want := fmt.Sprintf(": %d DACs, %d refused, 0 not returned", res.Issued, res.Refused); !strings.Contains(out, want) {
			t.Fatalf("round %d: import: %s (want %q)", round, out, want)
		}
		certified = append(certified, fresh...)
		certified = append(certified, twice)
	}

	// Over the quota: one more good CSR is one DAC too many; the batch is
	// refused whole and nothing is issued.
	before, err := f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	f.addHostileModules(&next, []hostileCSR{goodCSR(t, "over-quota", p256(t))})
	over := f.exportBatch()
	if _, err := f.try(f.cmd("appliance", f.app, "sign", "--json", "--out", f.usb, over)); err == nil || !strings.Contains(err.Error(), "station quota exceeded") {
		t.Errorf("a batch over the quota: %v, want station quota exceeded", err)
	}

	// The invariants.
	ents, err := f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(before) {
		t.Errorf("the batch over the quota logged %d entries", len(ents)-len(before))
	}
	s := checkLog(ents)
	if len(s.violations) > 0 {
		t.Fatalf("log:\n  %s", strings.Join(s.violations, "\n  "))
	}
	for key, want := range owed {
		if n := s.dacsFor(key); n != want {
			t.Errorf("key %x: %d DACs in the log, want %d", key[:8], n, want)
		}
	}
	if s.issued != quota {
		t.Errorf("%d DACs issued, quota %d", s.issued, quota)
	}
	verdict := "log verifies (appliance audit verify)"
	if _, err := f.auditVerify("hostile"); err != nil {
		t.Errorf("audit: %v", err)
		verdict = "appliance audit verify FAILED"
	}
	if t.Failed() && !strings.Contains(verdict, "FAILED") {
		verdict = "INVARIANTS BROKEN (see above)"
	}
	t.Logf("chaos: hostile CSRs: %d ceremonies finished with %d CSRs (%s); refused %s; %d DACs for %d keys, one per key; quota %d held (a batch over it refused whole); %s",
		rounds, sumCounts(kinds), fmtCounts(kinds), fmtCounts(refused), s.issued, len(owed), quota, verdict)
}

// dacsFor counts the dac-issued entries for a canonical key digest.
func (s *logSummary) dacsFor(key [32]byte) int {
	if _, ok := s.bySPKI[hex.EncodeToString(key[:])]; ok {
		return 1 // checkLog already flags a second one as a violation
	}
	return 0
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// refusalJSON and signJSONResult are what the scenario reads of sign --json.
type refusalJSON struct {
	Index    uint32 `json:"index"`
	ModuleID string `json:"module_id"`
	Reason   string `json:"reason"`
	LogIndex uint64 `json:"log_index"`
}

type signJSONResult struct {
	signResult
	Refusals []refusalJSON `json:"refusals"`
}

func (f *factory) signJSON(args ...string) signJSONResult {
	f.t.Helper()
	out := f.appliance(append([]string{"sign", "--json", "--out", f.usb}, args...)...)
	var r signJSONResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		f.t.Fatalf("appliance sign --json: %v\n%s", err, out)
	}
	return r
}

func reasons(rs []refusalJSON) map[uint32]string {
	m := map[uint32]string{}
	for _, r := range rs {
		m[r.Index] = r.Reason
	}
	return m
}

// addHostileModules records csrs in the station store as key-generated
// modules and returns their MACs, in order. The recorded key digest is one
// per module (not the key's): a hostile station's claims.
func (f *factory) addHostileModules(next *int, csrs []hostileCSR) []string {
	f.t.Helper()
	h, err := stationhome.Open(f.st)
	if err != nil {
		f.t.Fatal(err)
	}
	defer h.Close()
	st, err := station.New(h.DB())
	if err != nil {
		f.t.Fatal(err)
	}
	v, _ := strconv.ParseUint(vid, 16, 16)
	p, _ := strconv.ParseUint(pid, 16, 16)
	macs := make([]string, len(csrs))
	for i, c := range csrs {
		n := *next
		*next++
		mac := fmt.Sprintf("02:da:c1:%02x:%02x:%02x", byte(n>>16), byte(n>>8), byte(n))
		digest := c.key
		if c.reason != "" || (c.kind != "good" && c.kind != "over-quota") {
			digest = sha256.Sum256([]byte("hostile station claim " + mac))
		}
		if _, err := st.Identify(station.Sighting{MAC: mac, ChipModel: "hostile", Firmware: "0", Port: "none"}); err != nil {
			f.t.Fatal(err)
		}
		ob, err := station.NewOnboarding(0)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := st.RecordCSR(mac, station.CSR{DER: c.der, SPKISHA256: digest, VID: uint16(v), PID: uint16(p)}, ob); err != nil {
			f.t.Fatalf("%s csr: %v", c.kind, err)
		}
		macs[i] = mac
	}
	return macs
}

func p256(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func canonicalKey(t *testing.T, pub crypto.PublicKey) [32]byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(der)
}

func makeCSR(t *testing.T, key crypto.Signer, subject pkix.Name) []byte {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func goodCSR(t *testing.T, kind string, k *ecdsa.PrivateKey) hostileCSR {
	return hostileCSR{kind: kind, der: makeCSR(t, k, pkix.Name{CommonName: "module"}), key: canonicalKey(t, &k.PublicKey)}
}

func withReason(c hostileCSR, reason string) hostileCSR { c.reason = reason; return c }

func nonCanonical(t *testing.T, kind string, k *ecdsa.PrivateKey, variant string) hostileCSR {
	der, _, err := csrtest.NonCanonical(k, variant)
	if err != nil {
		t.Fatal(err)
	}
	return hostileCSR{kind: kind + "/" + variant, der: der, key: canonicalKey(t, &k.PublicKey), reason: "malformed-csr"}
}

func otherCSR(t *testing.T, kind string, k crypto.Signer, reason string) hostileCSR {
	return hostileCSR{kind: kind, der: makeCSR(t, k, pkix.Name{CommonName: "module"}), reason: reason}
}

// badSignature: a P-256 CSR whose proof of possession does not verify.
func badSignature(t *testing.T, k *ecdsa.PrivateKey) hostileCSR {
	c := goodCSR(t, "bad-signature", k)
	c.der[len(c.der)-3] ^= 0x01 // inside the signature's last INTEGER
	c.reason = "bad-csr-signature"
	return c
}

// oversize: a valid P-256 CSR over matter.MaxCSRDER (a subject stuffed
// with organizational units), still within the bundle's line limit.
func oversize(t *testing.T, k *ecdsa.PrivateKey) hostileCSR {
	var ous []string
	for i := range 24 {
		ous = append(ous, fmt.Sprintf("padding organizational unit %02d of an oversize request", i))
	}
	c := goodCSR(t, "oversize", k)
	c.der = makeCSR(t, k, pkix.Name{CommonName: "module", OrganizationalUnit: ous})
	if len(c.der) <= 1024 || len(c.der) > 2500 {
		t.Fatalf("oversize csr is %d bytes", len(c.der))
	}
	c.reason = "malformed-csr"
	return c
}

package ceremony

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/appliance/policy"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/matter"
)

// fixture is a whole appliance on a real SoftHSM2 token: PAA and PAI keys and
// the appliance Ed25519 key in the token, a bbolt file with the issuance
// store and the audit log, and one enrolled station with its own keys.
type fixture struct {
	t          testing.TB
	dir        string
	tok        *hsm.Token
	paiKey     *hsm.Key
	pai, paa   *x509.Certificate
	edKey      *hsm.Key
	db         *bbolt.DB
	log        *applog.Log
	applID     *age.X25519Identity
	stationID  *age.X25519Identity
	stationKey ed25519.PrivateKey
	stations   stationMap
	policyRaw  []byte
}

type stationMap map[string]struct {
	key  ed25519.PublicKey
	rcpt string
}

func (m stationMap) Lookup(name string) (ed25519.PublicKey, string, error) {
	s, ok := m[name]
	if !ok {
		return nil, "", fmt.Errorf("station %q is not enrolled", name)
	}
	return s.key, s.rcpt, nil
}

const testPolicy = `{
  "version": 1,
  "max_batch_size": 1000000,
  "dac": {"common_name": "dacline test DAC {serial}"},
  "stations": [{"name": "line-1", "products": [{"vid": "FFF1", "pids": ["8000", "8001"]}]}]
}`

func newFixture(t testing.TB) *fixture {
	t.Helper()
	tok, _ := hsmtest.Open(t)
	f := &fixture{t: t, dir: t.TempDir(), tok: tok, policyRaw: []byte(testPolicy)}
	paaKey, err := tok.GenerateP256("paa")
	if err != nil {
		t.Fatal(err)
	}
	f.paiKey, err = tok.GenerateP256("pai")
	if err != nil {
		t.Fatal(err)
	}
	f.edKey, err = tok.GenerateEd25519("appliance")
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	paaT, err := matter.PAATemplate(big.NewInt(1), matter.Subject{CommonName: "test PAA", VID: 0xFFF1, HasVID: true}, nb, matter.NoExpiry, paaKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	der, err := matter.IssueCertificate(paaT, nil, paaKey.Public(), paaKey.Signer(), matter.PAA)
	if err != nil {
		t.Fatal(err)
	}
	f.paa, _ = x509.ParseCertificate(der)
	paiT, err := matter.PAITemplate(big.NewInt(2), matter.Subject{CommonName: "test PAI", VID: 0xFFF1, HasVID: true}, nb, matter.NoExpiry, f.paiKey.Public(), f.paa)
	if err != nil {
		t.Fatal(err)
	}
	der, err = matter.IssueCertificate(paiT, f.paa, f.paiKey.Public(), paaKey.Signer(), matter.PAI)
	if err != nil {
		t.Fatal(err)
	}
	f.pai, _ = x509.ParseCertificate(der)

	f.db, err = bbolt.Open(filepath.Join(f.dir, "appliance.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	if err := issuance.InitDB(f.db); err != nil {
		t.Fatal(err)
	}
	if f.log, err = applog.Open(f.db, applog.Options{}); err != nil {
		t.Fatal(err)
	}
	f.applID, _ = age.GenerateX25519Identity()
	f.stationID, _ = age.GenerateX25519Identity()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	f.stationKey = priv
	f.stations = stationMap{"line-1": {key: pub, rcpt: f.stationID.Recipient().String()}}
	return f
}

func (f *fixture) runner() *Runner {
	f.t.Helper()
	pol, err := policy.Parse(f.policyRaw)
	if err != nil {
		f.t.Fatal(err)
	}
	ns, err := bundle.NewNoteSigner("appliance", f.edKey.Signer())
	if err != nil {
		f.t.Fatal(err)
	}
	ls, err := auditlog.NoteSigner("appliance", f.edKey.Signer())
	if err != nil {
		f.t.Fatal(err)
	}
	return &Runner{
		DB: f.db, Policy: pol, PolicySHA256: sha256.Sum256(f.policyRaw),
		Issuer:    Issuer{PAI: f.pai, PAA: f.paa, Signer: f.paiKey.X509Signer(), Random: f.tok.Random},
		Log:       AuditRecorder{Log: f.log, Signer: ls},
		Appliance: ns, Officer: "test officer", TempDir: f.dir, ChunkSize: 16,
	}
}

// csrSpec describes one CSR line to put into a batch.
type csrSpec struct {
	key      any // *ecdsa.PrivateKey or *rsa.PrivateKey; nil = fresh P-256
	vid, pid string
	corrupt  bool // flip a signature bit
}

func newCSR(t testing.TB, key any) []byte {
	t.Helper()
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "module chose this"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// writeBatch writes a csr-batch bundle from line-1 into dir and returns its path.
func (f *fixture) writeBatch(dir string, id bundle.BatchID, specs []csrSpec) string {
	f.t.Helper()
	lines := make([]bundle.CSRLine, len(specs))
	for i, s := range specs {
		der := newCSR(f.t, s.key)
		if s.corrupt {
			der[len(der)-3] ^= 0x01
		}
		vid, pid := s.vid, s.pid
		if vid == "" {
			vid, pid = "FFF1", "8000"
		}
		lines[i] = bundle.CSRLine{ID: fmt.Sprintf("24:0a:c4:00:%02x:%02x", i>>8&0xff, i&0xff), VID: vid, PID: pid, CSR: der}
	}
	return f.writeLines(dir, id, lines)
}

func (f *fixture) writeLines(dir string, id bundle.BatchID, lines []bundle.CSRLine) string {
	f.t.Helper()
	b, err := bundle.NewBuilder(bundle.Header{Kind: bundle.KindCSRBatch, BatchID: id, Sender: "line-1",
		Counts: map[string]int64{"csrs": int64(len(lines))}}, f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	defer b.Close()
	w, err := b.Create(bundle.CSRFile)
	if err != nil {
		f.t.Fatal(err)
	}
	enc := json.NewEncoder(w)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.t.Fatal(err)
	}
	ns, err := bundle.NewNoteSigner("line-1", f.stationKey)
	if err != nil {
		f.t.Fatal(err)
	}
	path, _, err := b.WriteToDir(dir, bundle.WriteOptions{Signer: ns, Recipient: f.applID.Recipient()})
	if err != nil {
		f.t.Fatal(err)
	}
	return path
}

func (f *fixture) open(path string) *Batch {
	f.t.Helper()
	b, bnd, err := OpenBatch(path, []age.Identity{f.applID}, f.stations, f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { bnd.Close() })
	return b
}

func (f *fixture) sign(path, out string) (*Result, error) {
	f.t.Helper()
	return f.runner().Run(context.Background(), f.open(path), Options{OutDir: out})
}

// returned is a dac-batch bundle read back as the station would.
type returned struct {
	manifestRaw []byte
	files       map[string][]byte
	dacs        []bundle.DACLine
	refusals    []bundle.RefusalLine
}

func (f *fixture) readReturn(path string) *returned {
	f.t.Helper()
	edPub := f.edKey.Public().(ed25519.PublicKey)
	bnd, err := bundle.ReadFile(path, bundle.ReadOptions{
		Identities: []age.Identity{f.stationID}, Kinds: []bundle.Kind{bundle.KindDACBatch}, TempDir: f.dir,
		Resolve: func(sender string, _ bundle.Kind) (ed25519.PublicKey, error) {
			if sender != "appliance" {
				return nil, errors.New("unknown appliance")
			}
			return edPub, nil
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	defer bnd.Close()
	r := &returned{manifestRaw: bnd.ManifestRaw, files: map[string][]byte{}}
	for _, fe := range bnd.Manifest.Files {
		sr, err := bnd.Open(fe.Name)
		if err != nil {
			f.t.Fatal(err)
		}
		r.files[fe.Name], _ = io.ReadAll(sr)
	}
	// Read back with the station's strict reader: what the ceremony writes
	// must pass it.
	lr := bundle.NewLineReader(bytes.NewReader(r.files[bundle.DACFile]), bundle.DACFile, bundle.MaxDACLine)
	for {
		var d bundle.DACLine
		if err := lr.Next(&d); err == io.EOF {
			break
		} else if err != nil {
			f.t.Fatal(err)
		}
		r.dacs = append(r.dacs, d)
	}
	lr = bundle.NewLineReader(bytes.NewReader(r.files[bundle.RefusalFile]), bundle.RefusalFile, bundle.MaxRefusalLine)
	for {
		var d bundle.RefusalLine
		if err := lr.Next(&d); err == io.EOF {
			break
		} else if err != nil {
			f.t.Fatal(err)
		}
		r.refusals = append(r.refusals, d)
	}
	return r
}

// checkDACs validates every DAC of a return bundle: Matter chain, key equals
// the CSR's, tlog proof verifies against the appliance key.
func (f *fixture) checkDACs(r *returned) {
	f.t.Helper()
	vkey, err := auditlog.VerifierKey("appliance", f.edKey.Public().(ed25519.PublicKey))
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := auditlog.NewVerifier(vkey)
	if err != nil {
		f.t.Fatal(err)
	}
	serials := map[string]bool{}
	for _, d := range r.dacs {
		dac, err := x509.ParseCertificate(d.DAC)
		if err != nil {
			f.t.Fatalf("dac %d: %v", d.Index, err)
		}
		if err := matter.ValidateChain(dac, f.pai, f.paa); err != nil {
			f.t.Errorf("dac %d: %v", d.Index, err)
		}
		if got := sha256.Sum256(dac.RawSubjectPublicKeyInfo); fmt.Sprintf("%x", got) != d.SPKISHA256 {
			f.t.Errorf("dac %d certifies another key", d.Index)
		}
		if len(dac.SerialNumber.Bytes()) != SerialBytes || serials[d.Serial] {
			f.t.Errorf("dac %d: serial %s is not a fresh 16-byte serial", d.Index, d.Serial)
		}
		serials[d.Serial] = true
		if dac.Subject.CommonName != "dacline test DAC "+d.Serial {
			f.t.Errorf("dac %d: CN %q not from policy", d.Index, dac.Subject.CommonName)
		}
		p, err := auditlog.ParseProof([]byte(d.TLogProof))
		if err != nil {
			f.t.Fatalf("dac %d proof: %v", d.Index, err)
		}
		if p.Index != int64(d.LogIndex) {
			f.t.Errorf("dac %d: proof index %d, line says %d", d.Index, p.Index, d.LogIndex)
		}
		entry, err := f.log.Entry(int64(d.LogIndex))
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := auditlog.VerifyProof(p, recordHash(entry), v); err != nil {
			f.t.Errorf("dac %d: proof: %v", d.Index, err)
		}
		if !bytes.Contains(entry, []byte(d.SPKISHA256)) {
			f.t.Errorf("dac %d: log entry %d is not its dac-issued entry", d.Index, d.LogIndex)
		}
	}
}

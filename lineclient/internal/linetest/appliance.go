package linetest

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/dacline/dacline/airgap-bundles/bundle"
)

// Appliance answers csr-batch bundles with dac-batch bundles, using the
// software PKI. It follows the appliance's payload formats (csrs.jsonl,
// dacs.jsonl, refusals.jsonl, pai.der, paa.der) but none of its ceremony:
// it stands in for the appliance in the station's package tests only.
type Appliance struct {
	PKI    *PKI
	Name   string
	Age    *age.X25519Identity
	Signer *bundle.NoteSigner
	ID     *bundle.ApplianceIdentity
	// Refuse, if set, decides per module ID whether to refuse its CSR.
	Refuse func(moduleID string) (reason string, refuse bool)
	// Tamper, if set, may change a DAC line before it is written.
	Tamper func(line map[string]any)
}

// NewAppliance builds an appliance named name around a fresh PKI.
func NewAppliance(t testing.TB, name string) *Appliance {
	t.Helper()
	a := &Appliance{PKI: NewPKI(t), Name: name}
	var err error
	if a.Age, err = age.GenerateX25519Identity(); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if a.Signer, err = bundle.NewNoteSigner(name, priv); err != nil {
		t.Fatal(err)
	}
	if a.ID, err = bundle.NewApplianceIdentity(name, a.Age.Recipient(), pub, a.PKI.PAI.Raw, a.PKI.PAA.Raw); err != nil {
		t.Fatal(err)
	}
	return a
}

// Answer reads a csr-batch bundle from station (name, Ed25519 key) and
// writes the dac-batch bundle for it into outDir, encrypted to stationAge.
// It returns the bundle's path.
func (a *Appliance) Answer(t testing.TB, csrBundle, outDir, station string, stationKey ed25519.PublicKey, stationAge *age.X25519Recipient) string {
	t.Helper()
	b, err := bundle.ReadFile(csrBundle, bundle.ReadOptions{
		Identities: []age.Identity{a.Age},
		Resolve: func(sender string, kind bundle.Kind) (ed25519.PublicKey, error) {
			if sender != station {
				return nil, fmt.Errorf("unknown station %s", sender)
			}
			return stationKey, nil
		},
		Kinds: []bundle.Kind{bundle.KindCSRBatch},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bl, err := bundle.NewBuilder(bundle.Header{Kind: bundle.KindDACBatch, Sender: a.Name, Created: time.Now().UTC().Truncate(time.Second),
		InReplyTo: b.Manifest.BatchID.String(), Counts: map[string]int64{}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	r, err := b.Open("csrs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var dacs, refusals []byte
	index := -1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 8192), 8192)
	for sc.Scan() {
		var l struct {
			ID  string `json:"id"`
			CSR []byte `json:"csr"`
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		index++
		vidS, pidS := b.Manifest.Labels["vid"], b.Manifest.Labels["pid"]
		if a.Refuse != nil {
			if reason, no := a.Refuse(l.ID); no {
				line, _ := json.Marshal(map[string]any{"id": l.ID, "index": index, "reason": reason, "detail": "refused by test appliance", "log_index": 0})
				refusals = append(append(refusals, line...), '\n')
				continue
			}
		}
		var vid, pid uint16
		fmt.Sscanf(vidS+" "+pidS, "%04X %04X", &vid, &pid)
		der, err := a.PKI.IssueDAC(l.CSR, vid, pid)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		spki := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		m := map[string]any{"id": l.ID, "index": index, "vid": vidS, "pid": pidS,
			"serial": strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes())), "spki_sha256": hex.EncodeToString(spki[:]),
			"dac": der, "log_index": 0, "tlog_proof": ""}
		if a.Tamper != nil {
			a.Tamper(m)
		}
		line, _ := json.Marshal(m)
		dacs = append(append(dacs, line...), '\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"dacs.jsonl", dacs}, {"refusals.jsonl", refusals},
		{"pai.der", a.PKI.PAI.Raw}, {"paa.der", a.PKI.PAA.Raw}} {
		if err := bl.AddFile(f.name, strings.NewReader(string(f.data))); err != nil {
			t.Fatal(err)
		}
	}
	path, _, err := bl.WriteToDir(outDir, bundle.WriteOptions{Signer: a.Signer, Recipient: stationAge})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

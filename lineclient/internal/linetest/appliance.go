package linetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/dacline/dacline/airgap-bundles/bundle"
)

// Appliance answers csr-batch bundles with dac-batch bundles, using the
// software PKI. It reads and writes the payload files of the bundle package
// (bundle.CSRFile, DACFile, RefusalFile, PAIFile, PAAFile) but does none of
// the appliance's ceremony:
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
	Tamper func(line *bundle.DACLine)
	// Rewrite, if set, may replace a payload file's bytes (after the lines
	// are written), to make payloads the line format refuses.
	Rewrite func(name string, data []byte) []byte
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
	r, err := b.Open(bundle.CSRFile)
	if err != nil {
		t.Fatal(err)
	}
	var dacs, refusals bytes.Buffer
	dw := bundle.NewLineWriter(&dacs, bundle.DACFile, bundle.MaxDACLine)
	rw := bundle.NewLineWriter(&refusals, bundle.RefusalFile, bundle.MaxRefusalLine)
	lr := bundle.NewLineReader(r, bundle.CSRFile, bundle.MaxCSRLine)
	vidS, pidS := b.Manifest.Labels["vid"], b.Manifest.Labels["pid"]
	for {
		var l bundle.CSRLine
		if err := lr.Next(&l); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		index := uint32(lr.Line() - 1)
		if a.Refuse != nil {
			if reason, no := a.Refuse(l.ID); no {
				if err := rw.Write(bundle.RefusalLine{ID: l.ID, Index: index, Reason: reason, Detail: "refused by test appliance"}); err != nil {
					t.Fatal(err)
				}
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
		d := bundle.DACLine{ID: l.ID, Index: index, VID: vidS, PID: pidS,
			Serial: strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes())), SPKISHA256: hex.EncodeToString(spki[:]), DAC: der}
		if a.Tamper != nil {
			a.Tamper(&d)
		}
		if err := dw.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := dw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{bundle.DACFile, dacs.Bytes()}, {bundle.RefusalFile, refusals.Bytes()},
		{bundle.PAIFile, a.PKI.PAI.Raw}, {bundle.PAAFile, a.PKI.PAA.Raw}} {
		if a.Rewrite != nil {
			f.data = a.Rewrite(f.name, f.data)
		}
		if err := bl.AddFile(f.name, bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	path, _, err := bl.WriteToDir(outDir, bundle.WriteOptions{Signer: a.Signer, Recipient: stationAge})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

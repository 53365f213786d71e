package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/dacline/dacline/airgap-bundles/bundle"
)

// testLineMain is the "test-line" script command: a minimal station standing
// in for lineclient (the appliance never imports lineclient) so the ceremony
// scripts can make csr-batch bundles and read dac-batch bundles.
//
//	test-line init [-id HEX] APPLIANCE.ID NAME STATEDIR OUTDIR   keys + enrollment bundle
//	test-line batch [flags] STATEDIR OUTDIR FIRST COUNT csr-batch with keys FIRST.. (deterministic per station)
//	    -id HEX        reuse a batch ID        -rsa I        line I is an RSA CSR
//	    -badsig I      line I has a broken signature          -pid I:PID / -vid I:VID
//	    -dup I:J       line I carries the key of line J
//	test-line read STATEDIR BUNDLE|OUTDIR DIR            verify and unpack a dac-batch
func testLineMain() int {
	if err := testLine(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "test-line:", err)
		return 1
	}
	return 0
}

type lineState struct {
	Name      string `json:"name"`
	AgeID     string `json:"age_identity"`
	Seed      []byte `json:"ed25519_seed"`
	Appliance string `json:"appliance_id"`
}

func testLine(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: test-line init|batch|read ...")
	}
	switch args[0] {
	case "init":
		return lineInit(args[1:])
	case "batch":
		return lineBatch(args[1:])
	case "read":
		return lineRead(args[1:])
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func lineInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fixedID := fs.String("id", "", "batch id of the enrollment bundle")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 4 {
		return errors.New("usage: test-line init [-id HEX] APPLIANCE.ID NAME STATEDIR OUTDIR")
	}
	app, err := bundle.ReadApplianceIdentity(args[0])
	if err != nil {
		return err
	}
	name, state, out := args[1], args[2], args[3]
	ageID, _ := age.GenerateX25519Identity()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	abs, _ := filepath.Abs(args[0])
	st, _ := json.Marshal(lineState{Name: name, AgeID: ageID.String(), Seed: priv.Seed(), Appliance: abs})
	if err := os.WriteFile(filepath.Join(state, "state.json"), st, 0o600); err != nil {
		return err
	}
	sid, err := bundle.NewStationIdentity(name, ageID.Recipient(), pub, "FFF1", "8000")
	if err != nil {
		return err
	}
	signer, err := bundle.NewNoteSigner(name, priv)
	if err != nil {
		return err
	}
	h := bundle.Header{Kind: bundle.KindEnrollment, Sender: name}
	if *fixedID != "" {
		if h.BatchID, err = bundle.ParseBatchID(*fixedID); err != nil {
			return err
		}
	}
	b, err := bundle.NewBuilder(h, "")
	if err != nil {
		return err
	}
	defer b.Close()
	sj, _ := json.Marshal(sid)
	if err := b.AddFile("station.json", bytes.NewReader(append(sj, '\n'))); err != nil {
		return err
	}
	rcpt, err := app.Recipient()
	if err != nil {
		return err
	}
	path, _, err := b.WriteToDir(out, bundle.WriteOptions{Signer: signer, Recipient: rcpt})
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}

func loadLine(dir string) (*lineState, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var s lineState
	return &s, json.Unmarshal(raw, &s)
}

// deviceKey is module key i of the station: deterministic, so a later batch
// can carry a key an earlier one got certified.
func deviceKey(station string, i int) (*ecdsa.PrivateKey, error) {
	for ctr := uint32(0); ; ctr++ {
		h := sha256.New()
		h.Write([]byte("dacline test device key\x00" + station))
		binary.Write(h, binary.BigEndian, uint64(i))
		binary.Write(h, binary.BigEndian, ctr)
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), h.Sum(nil)); err == nil {
			return k, nil
		}
	}
}

type pairs map[int]string

func (p pairs) String() string { return fmt.Sprint(map[int]string(p)) }
func (p pairs) Set(v string) error {
	a, b, ok := strings.Cut(v, ":")
	i, err := strconv.Atoi(a)
	if !ok || err != nil {
		return fmt.Errorf("want I:VALUE, got %q", v)
	}
	p[i] = b
	return nil
}

type ints map[int]bool

func (p ints) String() string { return fmt.Sprint(map[int]bool(p)) }
func (p ints) Set(v string) error {
	i, err := strconv.Atoi(v)
	p[i] = true
	return err
}

func lineBatch(args []string) error {
	fs := flag.NewFlagSet("batch", flag.ContinueOnError)
	id := fs.String("id", "", "batch id")
	rsaL, bad := ints{}, ints{}
	pids, vids, dups := pairs{}, pairs{}, pairs{}
	fs.Var(rsaL, "rsa", "")
	fs.Var(bad, "badsig", "")
	fs.Var(pids, "pid", "")
	fs.Var(vids, "vid", "")
	fs.Var(dups, "dup", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 4 {
		return errors.New("usage: test-line batch [flags] STATEDIR OUTDIR FIRST COUNT")
	}
	st, err := loadLine(fs.Arg(0))
	if err != nil {
		return err
	}
	first, _ := strconv.Atoi(fs.Arg(2))
	count, _ := strconv.Atoi(fs.Arg(3))
	app, err := bundle.ReadApplianceIdentity(st.Appliance)
	if err != nil {
		return err
	}
	h := bundle.Header{Kind: bundle.KindCSRBatch, Sender: st.Name, Counts: map[string]int64{"csrs": int64(count)},
		Labels: map[string]string{"vid": "FFF1", "pid": "8000"}}
	if *id != "" {
		if h.BatchID, err = bundle.ParseBatchID(*id); err != nil {
			return err
		}
	}
	b, err := bundle.NewBuilder(h, "")
	if err != nil {
		return err
	}
	defer b.Close()
	w, err := b.Create(bundle.CSRFile)
	if err != nil {
		return err
	}
	lw := bundle.NewLineWriter(w, bundle.CSRFile, bundle.MaxCSRLine)
	for i := 0; i < count; i++ {
		ki := first + i
		if j, ok := dups[i]; ok {
			n, _ := strconv.Atoi(j)
			ki = first + n
		}
		var key any
		if rsaL[i] {
			key, _ = rsa.GenerateKey(rand.Reader, 2048)
		} else if key, err = deviceKey(st.Name, ki); err != nil {
			return err
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "module"}}, key)
		if err != nil {
			return err
		}
		if bad[i] {
			der[len(der)-3] ^= 1
		}
		line := bundle.CSRLine{ID: fmt.Sprintf("24:0a:c4:00:%02x:%02x", ki>>8&0xff, ki&0xff), CSR: der}
		if v, ok := vids[i]; ok {
			line.VID = v
		}
		if v, ok := pids[i]; ok {
			line.PID = v
		}
		if err := lw.Write(line); err != nil {
			return err
		}
	}
	if err := lw.Flush(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	priv := ed25519.NewKeyFromSeed(st.Seed)
	signer, err := bundle.NewNoteSigner(st.Name, priv)
	if err != nil {
		return err
	}
	rcpt, err := app.Recipient()
	if err != nil {
		return err
	}
	path, _, err := b.WriteToDir(fs.Arg(1), bundle.WriteOptions{Signer: signer, Recipient: rcpt})
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}

// lineRead opens a dac-batch as the station does (appliance signature, age),
// writes each DAC to DIR/dac-<index>.pem and the manifest and payload files
// to DIR, and prints one line per DAC and per refusal.
func lineRead(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: test-line read STATEDIR BUNDLE DIR")
	}
	st, err := loadLine(args[0])
	if err != nil {
		return err
	}
	app, err := bundle.ReadApplianceIdentity(st.Appliance)
	if err != nil {
		return err
	}
	pub, err := app.PublicKey()
	if err != nil {
		return err
	}
	id, err := age.ParseX25519Identity(st.AgeID)
	if err != nil {
		return err
	}
	path := args[1]
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		found, _ := filepath.Glob(filepath.Join(path, "dac-batch-*.age"))
		if len(found) != 1 {
			return fmt.Errorf("%s holds %d dac-batch bundles, want 1", path, len(found))
		}
		path = found[0]
	}
	bnd, err := bundle.ReadFile(path, bundle.ReadOptions{
		Identities: []age.Identity{id}, Kinds: []bundle.Kind{bundle.KindDACBatch},
		Resolve: func(sender string, _ bundle.Kind) (ed25519.PublicKey, error) {
			if sender != app.Name {
				return nil, fmt.Errorf("sender %s is not %s", sender, app.Name)
			}
			return pub, nil
		},
	})
	if err != nil {
		return err
	}
	defer bnd.Close()
	dir := args[2]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), bnd.ManifestRaw, 0o644); err != nil {
		return err
	}
	for _, fe := range bnd.Manifest.Files {
		r, err := bnd.Open(fe.Name)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fe.Name), data, 0o644); err != nil {
			return err
		}
		switch fe.Name {
		case bundle.DACFile:
			lr := bundle.NewLineReader(bytes.NewReader(data), fe.Name, bundle.MaxDACLine)
			for {
				var d bundle.DACLine
				if err := lr.Next(&d); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
				p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.DAC})
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("dac-%04d.pem", d.Index)), p, 0o644); err != nil {
					return err
				}
				fmt.Printf("dac %d %s/%s serial %s\n", d.Index, d.VID, d.PID, d.Serial)
			}
		case bundle.RefusalFile:
			lr := bundle.NewLineReader(bytes.NewReader(data), fe.Name, bundle.MaxRefusalLine)
			for {
				var r bundle.RefusalLine
				if err := lr.Next(&r); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
				fmt.Printf("refused %d %s\n", r.Index, r.Reason)
			}
		}
	}
	fmt.Printf("dacs %d refusals %d\n", bnd.Manifest.Counts["dacs"], bnd.Manifest.Counts["refusals"])
	return nil
}

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
)

// TestProvisionedScripts runs the scripts of testdata/provisioned, which
// start from a station with provisioned modules: 'provision N' (after
// 'lineclient init') takes N modules through the store's real transitions
// with real P-256 keys, CSRs and DACs issued by a software PAI, to done;
// 'provision N locked' stops them at locked, 'provision N failed' fails
// them as lying modules after their DAC was imported; 'block-label DIR
// MAC' makes writing that module's label image fail.
func TestProvisionedScripts(t *testing.T) {
	pki := linetest.NewPKI(t)
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/provisioned",
		Setup: scriptSetup,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"provision": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 1 || len(args) > 2 {
					ts.Fatalf("usage: provision N [done|locked|failed]")
				}
				n, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("provision: %v", err)
				}
				until := "done"
				if len(args) == 2 {
					until = args[1]
				}
				ts.Check(provision(ts.Getenv("DACLINE_HOME"), pki, n, until))
			},
			// block-label DIR MAC puts a directory where MAC's label image
			// would go, so writing that one label fails.
			"block-label": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: block-label DIR MAC")
				}
				st, err := station.OpenFile(filepath.Join(ts.Getenv("DACLINE_HOME"), "station.db"))
				ts.Check(err)
				defer st.Close()
				m, err := st.Get(args[1])
				ts.Check(err)
				ts.Check(os.MkdirAll(filepath.Join(ts.MkAbs(args[0]), m.SerialNumber+".png"), 0o700))
			},
		},
	})
}

func provision(home string, pki *linetest.PKI, n int, until string) error {
	h, err := stationhome.Open(home)
	if err != nil {
		return err
	}
	defer h.Close()
	st, err := station.New(h.DB())
	if err != nil {
		return err
	}
	// Every call makes new MACs and batch IDs, numbered after the modules
	// already in the store.
	status, err := st.Status(0)
	if err != nil {
		return err
	}
	first := status.Total
	batch := fmt.Sprintf("%032x", first+1)
	ret := &station.Return{ReturnID: fmt.Sprintf("r%031x", first+1), CSRBatchID: batch}
	var macs []string
	for i := first; i < first+n; i++ {
		mac := fmt.Sprintf("24:0a:c4:00:00:%02x", i+1)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA256}, key)
		if err != nil {
			return err
		}
		csr, _ := x509.ParseCertificateRequest(csrDER)
		spki := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
		if _, err := st.Identify(station.Sighting{MAC: mac, ChipModel: "ESP32-C3", Port: "/dev/pts/9"}); err != nil {
			return err
		}
		ob, err := station.NewOnboarding(0)
		if err != nil {
			return err
		}
		if _, err := st.RecordCSR(mac, station.CSR{DER: csrDER, SPKISHA256: spki, VID: linetest.VID, PID: linetest.PID}, ob); err != nil {
			return err
		}
		dac, err := pki.IssueDAC(csrDER, linetest.VID, linetest.PID)
		if err != nil {
			return err
		}
		cert, _ := x509.ParseCertificate(dac)
		ret.DACs = append(ret.DACs, station.ReturnedDAC{SPKISHA256: spki, DER: dac, Serial: fmt.Sprintf("%X", cert.SerialNumber)})
		macs = append(macs, mac)
	}
	if _, err := st.BeginExport(batch, 0); err != nil {
		return err
	}
	if _, err := st.ImportReturn(ret); err != nil {
		return err
	}
	for _, mac := range macs {
		if until == "failed" {
			if _, err := st.Fail(mac, station.ReasonLyingModule, "test: attested with another key"); err != nil {
				return err
			}
			continue
		}
		steps := []func(string) (*station.Module, error){st.BeginWrite,
			func(m string) (*station.Module, error) { return st.CredentialsWritten(m, []byte{1}) },
			st.RecordAttested, st.BeginLock, st.RecordLocked}
		if until == "done" {
			steps = append(steps, st.RecordDone)
		}
		for _, step := range steps {
			if _, err := step(mac); err != nil {
				return err
			}
		}
	}
	if v, err := st.CheckInvariants(); err != nil || len(v) > 0 {
		return fmt.Errorf("invariants after provision: %v %v", err, v)
	}
	return nil
}

package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/dacline/dacline/airgap-bundles/bundle"
)

// testStationMain is the "test-station" script command: a stand-in for
// 'lineclient init' + 'lineclient enroll' (the appliance does not import lineclient).
//
//	test-station APPLIANCE.ID NAME OUTDIR
//
// writes OUTDIR/enrollment-NAME-<id>.age for the appliance and prints the path and the
// station's fingerprint.
func testStationMain() int {
	if err := testStation(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "test-station:", err)
		return 1
	}
	return 0
}

func testStation(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: test-station APPLIANCE.ID NAME OUTDIR")
	}
	app, err := bundle.ReadApplianceIdentity(args[0])
	if err != nil {
		return err
	}
	name, out := args[1], args[2]
	ageID, _ := age.GenerateX25519Identity()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sid, err := bundle.NewStationIdentity(name, ageID.Recipient(), pub, "FFF1", "8000")
	if err != nil {
		return err
	}
	signer, err := bundle.NewNoteSigner(name, priv)
	if err != nil {
		return err
	}
	b, err := bundle.NewBuilder(bundle.Header{Kind: bundle.KindEnrollment, Sender: name}, "")
	if err != nil {
		return err
	}
	defer b.Close()
	sj, _ := json.Marshal(sid)
	if err := b.AddFile("station.json", strings.NewReader(string(sj)+"\n")); err != nil {
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
	fmt.Println("fingerprint:", sid.Fingerprint)
	return nil
}

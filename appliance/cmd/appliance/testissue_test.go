package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"strconv"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/auditlog"
)

// testIssueMain is the "test-issue" script command: a stand-in for a signing
// ceremony (appliance/ceremony, not imported here) that writes only what the
// ceremony writes to the audit log — ceremony-started, N dac-issued,
// ceremony-finished, in one transaction — and signs a checkpoint. The
// scripts use it to check the log's station records against the DACs.
//
//	test-issue STATION BATCH N
func testIssueMain() int {
	if err := testIssue(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "test-issue:", err)
		return 1
	}
	return 0
}

func testIssue(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: test-issue STATION BATCH N")
	}
	station, batch := args[0], args[1]
	n, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	h, err := home.Open(os.Getenv("DACLINE_HOME"))
	if err != nil {
		return err
	}
	defer h.Close()
	u, err := h.OpenToken([]byte(os.Getenv(hsm.PINEnv)))
	if err != nil {
		return err
	}
	defer u.Close()
	l, err := h.AuditLog()
	if err != nil {
		return err
	}
	sum := func(parts ...any) string {
		s := sha256.Sum256([]byte(fmt.Sprint(parts...)))
		return hex.EncodeToString(s[:])
	}
	err = h.DB().Update(func(tx *bbolt.Tx) error {
		entries := []auditlog.Entry{&auditlog.CeremonyStarted{BatchID: batch, BundleSHA256: sum("bundle", batch),
			Officer: "Test Officer", PolicySHA256: sum("policy"), Station: station}}
		for i := 0; i < n; i++ {
			serial := new(big.Int).SetBytes([]byte(sum(batch, i)[:16]))
			entries = append(entries, &auditlog.DACIssued{BatchID: batch, DACSHA256: sum("dac", batch, i), Index: i,
				PID: 0x8000, Serial: auditlog.SerialHex(serial), SPKISHA256: sum("spki", batch, i), Station: station, VID: 0xFFF1})
		}
		entries = append(entries, &auditlog.BundleWritten{BatchID: batch, BundleSHA256: fmt.Sprintf("%064x", n), FileName: batch + ".dac-batch"},
			&auditlog.CeremonyFinished{BatchID: batch, Issued: n, Station: station})
		for _, e := range entries {
			if _, err := l.AppendTx(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := u.Checkpoint(); err != nil {
		return err
	}
	fmt.Printf("issued %d in batch %s for %s\n", n, batch, station)
	return nil
}

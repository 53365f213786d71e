package hsm_test

import (
	"crypto"
	"crypto/sha256"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
)

// BenchmarkP256Sign signs max(b.N, 2000) SHA-256 digests twice in the same run: first with
// raw C_SignInit/C_Sign on one session of a second, independent PKCS#11 context
// (the baseline: no pool, no verification), then through the pooled crypto.Signer
// from several goroutines (which also converts to DER and verifies every
// signature). It reports both rates and their ratio.
func BenchmarkP256Sign(b *testing.B) {
	tok, cfg := hsmtest.Open(b)
	key, err := tok.GenerateP256("bench")
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("benchmark"))

	// Baseline: the module directly. The registry already initialised it in this
	// process, so C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED.
	raw := pkcs11.New(cfg.ModulePath)
	if err := raw.Initialize(); err != nil && err != pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		b.Fatal(err)
	}
	slots, _ := raw.GetSlotList(true)
	var sh pkcs11.SessionHandle
	var priv pkcs11.ObjectHandle
	for _, s := range slots {
		ti, _ := raw.GetTokenInfo(s)
		if ti.Label == cfg.TokenLabel {
			sh, _ = raw.OpenSession(s, pkcs11.CKF_SERIAL_SESSION)
			// login is token-wide: the pool's login already covers this session
			raw.FindObjectsInit(sh, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, "bench"),
			})
			hs, _, _ := raw.FindObjects(sh, 1)
			raw.FindObjectsFinal(sh)
			if len(hs) == 1 {
				priv = hs[0]
			}
		}
	}
	if priv == 0 {
		b.Fatal("baseline session cannot see the key")
	}
	defer raw.CloseSession(sh)

	// 'just bench' runs every benchmark once (-benchtime 1x): sign enough
	// digests for a rate worth printing whatever b.N is.
	n := max(b.N, 2000)
	b.ResetTimer()
	start := time.Now()
	for range n {
		if err := raw.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, priv); err != nil {
			b.Fatal(err)
		}
		if _, err := raw.Sign(sh, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
	rawRate := float64(n) / time.Since(start).Seconds()

	workers := max(2*runtime.GOMAXPROCS(0), hsm.DefaultSessions)
	poolRate := func(signer crypto.Signer) float64 {
		var wg sync.WaitGroup
		next := make(chan struct{}, n)
		for range n {
			next <- struct{}{}
		}
		close(next)
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range next {
					if _, err := signer.Sign(nil, digest[:], crypto.SHA256); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	verified := poolRate(key.Signer())
	// X509Signer leaves the verification to crypto/x509: the token alone.
	unverified := poolRate(key.X509Signer())
	b.StopTimer()

	b.ReportMetric(rawRate, "raw-C_Sign/s")
	b.ReportMetric(verified, "pool-sign+verify/s")
	b.ReportMetric(verified/rawRate, "pool/raw")
	b.ReportMetric(unverified, "pool-sign-only/s")
	b.Logf("P-256 digest signing, %d signatures each: raw single-session C_Sign %.0f/s, pool (%d sessions, %d goroutines, DER + verify) %.0f/s, ratio %.2f; pool without the verification (X509Signer) %.0f/s",
		n, rawRate, hsm.DefaultSessions, workers, verified, verified/rawRate, unverified)
}

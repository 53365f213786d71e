package sim_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestEveryCommandThroughPTY drives the whole protocol against a simulated
// module through a real pseudo-terminal opened with go.bug.st/serial, and
// checks each state's refusals on the way.
func TestEveryCommandThroughPTY(t *testing.T) {
	s := startSim(t, sim.Options{Count: 1, Seed: 7})
	var boots []lineproto.BootEvent
	c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{OnBoot: func(e lineproto.BootEvent) { boots = append(boots, e) }})
	ctx := ctxT(t)
	ca := newTestCA(t)
	want, _ := s.Module(0)

	id, err := c.Identify(ctx)
	if err != nil {
		t.Fatalf("identify: %v", err)
	}
	if id.ChipID != want.MAC || id.State != lineproto.StateUnprovisioned || id.KeyPresent || !id.DebugEnabled || id.LockMask != 0 || len(id.Digests) != 0 {
		t.Fatalf("fresh module identifies as %+v", id)
	}
	if id.ChipModel != "ESP32-C3" || id.Firmware == "" {
		t.Fatalf("chip model %q firmware %q", id.ChipModel, id.Firmware)
	}

	// Unprovisioned: no writes, no attestation, no lock.
	if _, err := c.WriteItem(ctx, lineproto.ItemSalt, make([]byte, 16)); lineproto.StatusOf(err) != lineproto.StatusNoKey {
		t.Fatalf("write before keygen: %v", err)
	}
	if _, err := c.Attest(ctx, [32]byte{}); lineproto.StatusOf(err) != lineproto.StatusNoKey {
		t.Fatalf("attest before keygen: %v", err)
	}
	if _, err := c.Lock(ctx, lineproto.LockFlashEncryption); lineproto.StatusOf(err) != lineproto.StatusCredentialsMissing {
		t.Fatalf("lock before keygen: %v", err)
	}

	// GENERATE_KEY twice: one key, the same CSR bytes.
	kg, err := c.GenerateKey(ctx)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	if !kg.NewKey {
		t.Fatal("first GENERATE_KEY did not report a new key")
	}
	csr, err := kg.CheckCSR()
	if err != nil {
		t.Fatalf("csr: %v", err)
	}
	if csr.Subject.CommonName != strings.ToUpper(hexMAC(want.MAC)) {
		t.Fatalf("csr subject %q", csr.Subject)
	}
	spki := kg.SPKIHash
	kg2, err := c.GenerateKey(ctx)
	if err != nil || kg2.NewKey || !bytes.Equal(kg2.CSR, kg.CSR) {
		t.Fatalf("second GENERATE_KEY: new=%v same csr=%v err=%v", kg2.NewKey, bytes.Equal(kg2.CSR, kg.CSR), err)
	}
	if m, _ := s.Module(0); m.KeysGenerated != 1 || m.State != lineproto.StateKeyGenerated {
		t.Fatalf("after two keygens: %d keys, state %s", m.KeysGenerated, m.State)
	}

	// Attest needs a DAC.
	if _, err := c.Attest(ctx, [32]byte{}); lineproto.StatusOf(err) != lineproto.StatusNoDAC {
		t.Fatalf("attest before dac: %v", err)
	}
	// A DAC for another key is refused.
	other := newTestCA(t)
	if _, err := c.WriteItem(ctx, lineproto.ItemDAC, ca.issueFor(t, &other.key.PublicKey)); lineproto.StatusOf(err) != lineproto.StatusKeyMismatch {
		t.Fatalf("dac for another key: %v", err)
	}
	// A commit with a wrong digest is refused; the staged bytes stay.
	dac := ca.issue(t, kg.CSR)
	if _, err := c.WriteChunk(ctx, &lineproto.WriteChunkRequest{Item: lineproto.ItemDAC, Total: uint32(len(dac)), Offset: 0, Data: dac}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Commit(ctx, &lineproto.CommitRequest{Item: lineproto.ItemDAC, Length: uint32(len(dac)), SHA256: [32]byte{1}}); lineproto.StatusOf(err) != lineproto.StatusDigestMismatch {
		t.Fatalf("wrong digest: %v", err)
	}
	// A chunk that leaves a hole is refused.
	if _, err := c.WriteChunk(ctx, &lineproto.WriteChunkRequest{Item: lineproto.ItemCD, Total: 600, Offset: 512, Data: []byte{1}}); lineproto.StatusOf(err) != lineproto.StatusBadOffset {
		t.Fatalf("hole: %v", err)
	}
	// Invalid values are refused by the module too (not only by the client).
	bad := lineproto.DiscriminatorValue(5000)
	if _, err := c.WriteChunk(ctx, &lineproto.WriteChunkRequest{Item: lineproto.ItemDiscriminator, Total: 2, Data: bad}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Commit(ctx, &lineproto.CommitRequest{Item: lineproto.ItemDiscriminator, Length: 2, SHA256: sha256.Sum256(bad)}); lineproto.StatusOf(err) != lineproto.StatusInvalidItem {
		t.Fatalf("discriminator 5000: %v", err)
	}

	// Write everything.
	if _, err := c.WriteItem(ctx, lineproto.ItemDAC, dac); err != nil {
		t.Fatalf("write dac: %v", err)
	}
	creds := credentials(ca, "SN-0001")
	for _, it := range lineproto.AllItems[1:] {
		r, err := c.WriteItem(ctx, it, creds[it])
		if err != nil {
			t.Fatalf("write %s: %v", it, err)
		}
		if it == lineproto.AllItems[len(lineproto.AllItems)-1] && r.State != lineproto.StateCredentialsWritten {
			t.Fatalf("state after last item: %s", r.State)
		}
	}
	creds[lineproto.ItemDAC] = dac
	// Rewriting an identical item is a no-op.
	if _, err := c.WriteItem(ctx, lineproto.ItemSalt, creds[lineproto.ItemSalt]); err != nil {
		t.Fatalf("rewrite salt: %v", err)
	}

	rd, err := c.ReadDigests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Digests) != len(lineproto.AllItems) {
		t.Fatalf("%d digests", len(rd.Digests))
	}
	for _, d := range rd.Digests {
		if d.SHA256 != sha256.Sum256(creds[d.Item]) || int(d.Length) != len(creds[d.Item]) {
			t.Fatalf("digest of %s differs", d.Item)
		}
	}

	// ATTEST verifies under the DAC; a wrong nonce does not.
	var nonce [32]byte
	rand.Read(nonce[:])
	ar, err := c.Attest(ctx, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if err := lineproto.VerifyAttestation(dac, nonce, ar); err != nil {
		t.Fatalf("attestation: %v", err)
	}
	nonce[0] ^= 1
	if err := lineproto.VerifyAttestation(dac, nonce, ar); !errors.Is(err, lineproto.ErrAttestation) {
		t.Fatalf("attestation with another nonce: %v", err)
	}

	// LOCK: order enforced, each step reported, idempotent.
	if _, err := c.Lock(ctx, lineproto.LockSecureBoot); lineproto.StatusOf(err) != lineproto.StatusLockOrder {
		t.Fatalf("secure boot first: %v", err)
	}
	if _, err := c.Lock(ctx, lineproto.LockStep(9)); lineproto.StatusOf(err) != lineproto.StatusMalformed {
		t.Fatalf("step 9: %v", err)
	}
	var steps []lineproto.LockStep
	if err := c.LockAll(ctx, func(r *lineproto.LockResponse) {
		if r.AlreadyBurned {
			t.Errorf("step %s reported already burned", r.Step)
		}
		steps = append(steps, r.Step)
	}); err != nil {
		t.Fatalf("lock: %v", err)
	}
	if len(steps) != 4 {
		t.Fatalf("steps %v", steps)
	}
	again, err := c.Lock(ctx, lineproto.LockFlashEncryption)
	if err != nil || !again.AlreadyBurned || again.State != lineproto.StateLocked {
		t.Fatalf("lock again: %+v %v", again, err)
	}

	// Locked: no keygen, no writes, debug off; identify, digests, attest still work.
	if _, err := c.GenerateKey(ctx); lineproto.StatusOf(err) != lineproto.StatusLocked {
		t.Fatalf("keygen after lock: %v", err)
	}
	if _, err := c.WriteItem(ctx, lineproto.ItemSerialNumber, []byte("SN-0002")); lineproto.StatusOf(err) != lineproto.StatusLocked {
		t.Fatalf("write after lock: %v", err)
	}
	id, err = c.Identify(ctx)
	if err != nil || id.State != lineproto.StateLocked || id.DebugEnabled || id.LockMask != lineproto.LockMaskAll || !id.KeyPresent || id.KeySPKIHash != spki || len(id.Digests) != len(lineproto.AllItems) {
		t.Fatalf("locked identify: %+v %v", id, err)
	}
	if _, err := c.Attest(ctx, nonce); err != nil {
		t.Fatalf("attest after lock: %v", err)
	}

	// REBOOT: answers, then a BOOT event; state survives.
	if err := c.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	if id, err = c.Identify(ctx); err != nil || id.State != lineproto.StateLocked {
		t.Fatalf("after reboot: %+v %v", id, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for c.Stats().Boots < 1 && time.Now().Before(deadline) {
		c.Identify(ctx)
	}
	if c.Stats().Boots < 1 {
		t.Fatal("no BOOT event after REBOOT")
	}
	m, _ := s.Module(0)
	checkInvariants(t, m)
	if m.State != lineproto.StateLocked {
		t.Fatalf("final state %s", m.State)
	}
}

package matter

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// sdkExampleCD is the CD of the SDK vector struct_dac_ext_basic_critical_wrong
// (MATTER-FACTS §1): fmt 1, vid FFF1, pids [8000], device type 0x1234,
// "ZIG20141ZB330001-24", version 0x9876, type 0, signed by the test CD key.
func sdkExampleCD(t *testing.T) []byte {
	b, err := os.ReadFile("testdata/commissioner_dut/struct_dac_ext_basic_critical_wrong.json")
	if err != nil {
		t.Fatal(err)
	}
	var v dutVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	der, _ := hex.DecodeString(v.CD)
	return der
}

func exampleContent() CDContent {
	return CDContent{
		FormatVersion: 1, VendorID: 0xFFF1, ProductIDs: []uint16{0x8000}, DeviceTypeID: 0x1234,
		CertificateID: "ZIG20141ZB330001-24", VersionNumber: 0x9876, CertificationType: 0,
	}
}

func TestCDParseSDKVector(t *testing.T) {
	der := sdkExampleCD(t)
	cd, err := ParseCD(der)
	if err != nil {
		t.Fatal(err)
	}
	want := exampleContent()
	if !reflect.DeepEqual(cd.Content, want) {
		t.Fatalf("content %+v, want %+v", cd.Content, want)
	}
	if len(cd.RawContent) != 54 || len(der) != 235 {
		t.Errorf("TLV %d bytes, CMS %d bytes", len(cd.RawContent), len(der))
	}
	// Our encoder produces exactly the SDK's TLV bytes.
	tlv, err := want.MarshalTLV()
	if err != nil || !bytes.Equal(tlv, cd.RawContent) {
		t.Fatalf("MarshalTLV = %X (%v), want %X", tlv, err, cd.RawContent)
	}
	signer := readCert(t, "testdata/cd/Chip-Test-CD-Signing-Cert.pem")
	if err := cd.Verify(signer); err != nil {
		t.Fatal(err)
	}
	// A flipped content byte breaks the signature.
	bad := bytes.Clone(der)
	i := bytes.Index(bad, []byte("ZIG2014"))
	bad[i] = 'X'
	cd2, err := ParseCD(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := cd2.Verify(signer); RuleOf(err) != "cd.signature" {
		t.Fatalf("tampered CD: %v", err)
	}
	// The SignerInfo must name the signer by its SKID.
	other, _, _ := testChain(t)
	if err := cd.Verify(other.cert); RuleOf(err) != "cd.signerNotFound" {
		t.Fatalf("wrong signer: %v", err)
	}
}

func TestCDEncodeRoundTrip(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	skid, _ := KeyID(&key.PublicKey)
	c := exampleContent()
	c.ProductIDs = []uint16{0x8000, 0x8001, 0xFFFF}
	c.DeviceTypeID = 0x10000 // 4-byte integer
	c.HasDACOrigin, c.DACOriginVendorID, c.DACOriginProductID = true, 0xFFF2, 0x0001
	c.AuthorizedPAAs = [][]byte{bytes.Repeat([]byte{1}, 20), bytes.Repeat([]byte{2}, 20)}
	der, err := EncodeCD(c, skid, key)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := ParseCD(der)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cd.Content, c) {
		t.Fatalf("round trip: %+v != %+v", cd.Content, c)
	}
	if err := cd.VerifyKey(&key.PublicKey); err != nil {
		t.Fatal(err)
	}
	// Largest legal CD: 100 PIDs (3 bytes each) and 10 PAAs stays within 790 bytes.
	c.ProductIDs = make([]uint16, 100)
	for i := range c.ProductIDs {
		c.ProductIDs[i] = 0x8000 + uint16(i)
	}
	c.AuthorizedPAAs = make([][]byte, 10)
	for i := range c.AuthorizedPAAs {
		c.AuthorizedPAAs[i] = bytes.Repeat([]byte{byte(i)}, 20)
	}
	if der, err = EncodeCD(c, skid, key); err != nil {
		t.Fatalf("max CD: %v", err)
	}
	if len(der) > MaxCDSize {
		t.Fatalf("max CD is %d bytes", len(der))
	}
	if _, err := ParseCD(der); err != nil {
		t.Fatal(err)
	}
}

func TestCDContentRules(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rows := []struct {
		rule string
		mut  func(*CDContent)
	}{
		{"cd.formatVersion", func(c *CDContent) { c.FormatVersion = 2 }},
		{"cd.productIds.count", func(c *CDContent) { c.ProductIDs = nil }},
		{"cd.productIds.count", func(c *CDContent) { c.ProductIDs = make([]uint16, 101) }},
		{"cd.certificateId.length", func(c *CDContent) { c.CertificateID = "ZIG20141ZB330001-2" }},
		{"cd.certificationType", func(c *CDContent) { c.CertificationType = 3 }},
		{"cd.authorizedPaaList.count", func(c *CDContent) { c.AuthorizedPAAs = [][]byte{} }},
		{"cd.authorizedPaaList.count", func(c *CDContent) { c.AuthorizedPAAs = make([][]byte, 11) }},
		{"cd.authorizedPaaList.entry", func(c *CDContent) { c.AuthorizedPAAs = [][]byte{{1, 2, 3}} }},
	}
	for _, r := range rows {
		c := exampleContent()
		r.mut(&c)
		_, err := EncodeCD(c, []byte{1}, key)
		if RuleOf(err) != r.rule {
			t.Errorf("%s: got %v", r.rule, err)
		}
	}
}

// rebuildCD re-assembles the SDK example with one part replaced, for parser rows.
func cmsWith(t *testing.T, mut func(*cmsParts)) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := exampleContent()
	tlv, _ := c.MarshalTLV()
	p := &cmsParts{outerOID: oidSignedData, version: 3, digest: oidSHA256, eType: oidData, tlv: tlv,
		siVersion: 3, skid: []byte{1, 2, 3}, siDigest: oidSHA256, sigAlg: oidECDSAWithSHA2}
	p.sig, _ = ecdsa.SignASN1(rand.Reader, key, sha256Sum(tlv))
	mut(p)
	return p.build()
}

func TestParseCDRules(t *testing.T) {
	rows := []struct {
		name, rule string
		mut        func(*cmsParts)
	}{
		{"valid", "", func(*cmsParts) {}},
		{"content type", "cd.contentType", func(p *cmsParts) { p.outerOID = oidData }},
		{"version", "cd.version", func(p *cmsParts) { p.version = 1 }},
		{"digest sha1", "cd.digestAlgorithm", func(p *cmsParts) { p.digest = []int{1, 3, 14, 3, 2, 26} }},
		{"two digests", "cd.digestAlgorithm", func(p *cmsParts) { p.extraDigest = true }},
		{"econtent type", "cd.contentType", func(p *cmsParts) { p.eType = oidSignedData }},
		{"certificates", "cd.certificates", func(p *cmsParts) { p.certs = []byte{0xa0, 0x00} }},
		{"signer version", "cd.signerInfo.version", func(p *cmsParts) { p.siVersion = 1 }},
		{"sid issuerAndSerial", "cd.signerInfo.sid", func(p *cmsParts) { p.sidSeq = true }},
		{"signed attributes", "cd.signedAttributes", func(p *cmsParts) { p.signedAttrs = true }},
		{"signature algorithm", "cd.signatureAlgorithm", func(p *cmsParts) { p.sigAlg = []int{1, 2, 840, 10045, 4, 1} }},
		{"signature junk", "cd.signature", func(p *cmsParts) { p.sig = []byte{1, 2, 3} }},
		{"trailing data", "cd.parse", func(p *cmsParts) { p.trailing = []byte{0} }},
		{"tlv trailing", "cd.content", func(p *cmsParts) { p.tlv = append(bytes.Clone(p.tlv), 0x18) }},
		{"tlv truncated", "cd.content", func(p *cmsParts) { p.tlv = p.tlv[:20] }},
		{"tlv unknown tag", "cd.content", func(p *cmsParts) {
			p.tlv = append(bytes.Clone(p.tlv[:len(p.tlv)-1]), 0x24, 0x0C, 0x01, 0x18)
		}},
		{"tlv origin pid alone", "cd.content", func(p *cmsParts) {
			p.tlv = append(bytes.Clone(p.tlv[:len(p.tlv)-1]), 0x24, 0x0A, 0x01, 0x18)
		}},
		{"tlv negative vid", "cd.content", func(p *cmsParts) {
			i := bytes.Index(p.tlv, []byte{0x25, 0x01})
			p.tlv = bytes.Clone(p.tlv)
			p.tlv[i] = 0x21 // signed 16-bit, value 0xFFF1 is negative
		}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := ParseCD(cmsWith(t, r.mut))
			if RuleOf(err) != r.rule || (r.rule != "" && err == nil) {
				t.Fatalf("got %v, want rule %q", err, r.rule)
			}
		})
	}
	if _, err := ParseCD(make([]byte, MaxCDSize+1)); RuleOf(err) != "cd.size" {
		t.Errorf("oversize: %v", err)
	}
	if _, err := ParseCD(nil); RuleOf(err) != "cd.parse" {
		t.Errorf("empty: %v", err)
	}
}

type cmsParts struct {
	outerOID, digest, eType, siDigest, sigAlg []int
	version, siVersion                        int64
	tlv, skid, sig, certs, trailing           []byte
	extraDigest, sidSeq, signedAttrs          bool
}

func (p *cmsParts) build() []byte {
	alg := func(b *cryptobyte.Builder, oid []int) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(p.outerOID)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(p.version)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					alg(b, p.digest)
					if p.extraDigest {
						alg(b, p.digest)
					}
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(p.eType)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(p.tlv) })
				})
				b.AddBytes(p.certs)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(p.siVersion)
						if p.sidSeq {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })
						} else {
							b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(p.skid) })
						}
						alg(b, p.siDigest)
						if p.signedAttrs {
							b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {})
						}
						alg(b, p.sigAlg)
						b.AddASN1OctetString(p.sig)
					})
				})
			})
		})
	})
	return append(b.BytesOrPanic(), p.trailing...)
}

package matter

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tbsParts is a TBSCertificate split into its raw DER fields, so tests can
// build certificates crypto/x509 refuses to produce (v2, pathLen on a
// non-CA, non-critical basicConstraints, ...) and sign them with their own key.
type tbsParts struct {
	version                                         []byte // full [0] element, nil for v1
	serial, sigAlg, issuer, validity, subject, spki []byte // full TLVs
	exts                                            []rawExt
}

type rawExt struct {
	oid      asn1.ObjectIdentifier
	critical bool
	value    []byte
}

func splitTBS(t testing.TB, der []byte) *tbsParts {
	t.Helper()
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		t.Fatal("splitTBS: malformed certificate")
	}
	p := &tbsParts{}
	var el cryptobyte.String
	var tag cbasn1.Tag
	read := func() []byte {
		if !tbs.ReadAnyASN1Element(&el, &tag) {
			t.Fatal("splitTBS: truncated TBS")
		}
		return append([]byte(nil), el...)
	}
	if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		p.version = read()
	}
	p.serial, p.sigAlg, p.issuer, p.validity, p.subject, p.spki = read(), read(), read(), read(), read(), read()
	var extsOuter, exts cryptobyte.String
	if tbs.ReadASN1(&extsOuter, cbasn1.Tag(3).Constructed().ContextSpecific()) {
		extsOuter.ReadASN1(&exts, cbasn1.SEQUENCE)
		for !exts.Empty() {
			var ext cryptobyte.String
			var e rawExt
			if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&e.oid) ||
				(ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&e.critical)) ||
				!ext.ReadASN1Bytes(&e.value, cbasn1.OCTET_STRING) {
				t.Fatal("splitTBS: malformed extension")
			}
			p.exts = append(p.exts, e)
		}
	}
	return p
}

func (p *tbsParts) ext(oid asn1.ObjectIdentifier) *rawExt {
	for i := range p.exts {
		if p.exts[i].oid.Equal(oid) {
			return &p.exts[i]
		}
	}
	return nil
}

func (p *tbsParts) dropExt(oid asn1.ObjectIdentifier) {
	out := p.exts[:0]
	for _, e := range p.exts {
		if !e.oid.Equal(oid) {
			out = append(out, e)
		}
	}
	p.exts = out
}

// sign assembles the certificate and signs it (ECDSA over SHA-256) with key.
func (p *tbsParts) sign(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if p.version != nil {
			b.AddBytes(p.version)
		}
		for _, f := range [][]byte{p.serial, p.sigAlg, p.issuer, p.validity, p.subject, p.spki} {
			b.AddBytes(f)
		}
		if len(p.exts) > 0 {
			b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, e := range p.exts {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(e.oid)
							if e.critical {
								b.AddASN1Boolean(true)
							}
							b.AddASN1OctetString(e.value)
						})
					}
				})
			})
		}
	})
	tbs, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	var c cryptobyte.Builder
	c.AddASN1(cbasn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddBytes(tbs)
		c.AddBytes(p.sigAlg)
		c.AddASN1BitString(sig)
	})
	der, err := c.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// derInt encodes n as a full DER INTEGER element.
func derInt(b []byte) []byte {
	var c cryptobyte.Builder
	c.AddASN1(cbasn1.INTEGER, func(c *cryptobyte.Builder) { c.AddBytes(b) })
	return c.BytesOrPanic()
}

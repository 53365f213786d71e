package matter

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The CMS SignedData shape the SDK's CMS_Sign writes and CMS_Verify reads
// (src/credentials/CertificationDeclaration.cpp):
//
//	ContentInfo ::= SEQUENCE { id-signedData, [0] EXPLICIT SignedData }
//	SignedData  ::= SEQUENCE { version 3, SET { sha256 },
//	                           SEQUENCE { id-data, [0] EXPLICIT OCTET STRING tlv },
//	                           SET { SignerInfo } }
//	SignerInfo  ::= SEQUENCE { version 3, [0] IMPLICIT OCTET STRING signerSKID,
//	                           sha256, ecdsa-with-SHA256, OCTET STRING sig }
//
// No certificates, no CRLs, no signed attributes: the ECDSA signature covers
// the TLV content itself.
var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSAWithSHA2 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// CD is a parsed, structurally valid Certification Declaration. Its
// signature is not trusted until Verify succeeds.
type CD struct {
	Content     CDContent
	SignerKeyID []byte // the SignerInfo sid: the signing certificate's SKID
	Signature   []byte // DER ECDSA signature over RawContent
	RawContent  []byte // the TLV bytes that were signed
	Raw         []byte
}

// EncodeCD encodes content, signs it with signer (a P-256 key; HSM-backed
// or not) and wraps it in CMS SignedData identified by signerSKID. The
// signature is verified with signer.Public() before returning.
func EncodeCD(content CDContent, signerSKID []byte, signer crypto.Signer) ([]byte, error) {
	if len(signerSKID) == 0 || len(signerSKID) > keyIdentifierLen {
		return nil, fmt.Errorf("encode cd: signer key identifier is %d bytes, want 1 to %d", len(signerSKID), keyIdentifierLen)
	}
	pub, err := p256Key(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("encode cd: signer: %w", err)
	}
	tlv, err := content.MarshalTLV()
	if err != nil {
		return nil, fmt.Errorf("encode cd: %w", err)
	}
	digest := sha256.Sum256(tlv)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("encode cd: sign: %w", err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return nil, fmt.Errorf("encode cd: signer produced a signature that does not verify")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(3)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlgID(b, oidSHA256) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidData)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(tlv)
					})
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(3)
						b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(signerSKID) })
						addAlgID(b, oidSHA256)
						addAlgID(b, oidECDSAWithSHA2)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode cd: %w", err)
	}
	if len(der) > MaxCDSize {
		return nil, fmt.Errorf("encode cd: %w", ruleErr("cd", "size", "CD is %d bytes, at most %d", len(der), MaxCDSize))
	}
	return der, nil
}

func addAlgID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
}

// readAlgID reads an AlgorithmIdentifier with an optional NULL parameter.
func readAlgID(s *cryptobyte.String) (asn1.ObjectIdentifier, bool) {
	var seq cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, false
	}
	if seq.PeekASN1Tag(cbasn1.NULL) {
		var null cryptobyte.String
		seq.ReadASN1(&null, cbasn1.NULL)
		if !null.Empty() {
			return nil, false
		}
	}
	return oid, seq.Empty()
}

// ParseCD parses a Certification Declaration strictly: at most MaxCDSize
// bytes, exactly the SDK's CMS shape (anything else, such as certificates or
// signed attributes, is refused), a well-formed ECDSA signature, and valid
// TLV content. It does not check the signature; call Verify.
func ParseCD(der []byte) (*CD, error) {
	if len(der) == 0 {
		return nil, ruleErr("cd", "parse", "CD is empty")
	}
	if len(der) > MaxCDSize {
		return nil, ruleErr("cd", "size", "CD is %d bytes, at most %d accepted", len(der), MaxCDSize)
	}
	fail := func(rule, format string, args ...any) (*CD, error) {
		return nil, ruleErr("cd", rule, format, args...)
	}
	in := cryptobyte.String(der)
	var ci, wrapped, sd, digests, encap, eWrapped, signerInfos, si cryptobyte.String
	var oid asn1.ObjectIdentifier
	var version int64
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return fail("parse", "not a single DER SEQUENCE (or trailing data)")
	}
	if !ci.ReadASN1ObjectIdentifier(&oid) {
		return fail("parse", "malformed ContentInfo")
	}
	if !oid.Equal(oidSignedData) {
		return fail("contentType", "content type is %s, want signedData", oid)
	}
	if !ci.ReadASN1(&wrapped, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!wrapped.ReadASN1(&sd, cbasn1.SEQUENCE) || !wrapped.Empty() {
		return fail("parse", "malformed SignedData wrapper")
	}
	if !sd.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) {
		return fail("parse", "malformed SignedData version")
	}
	if version != 3 {
		return fail("version", "SignedData version is %d, want 3", version)
	}
	if !sd.ReadASN1(&digests, cbasn1.SET) {
		return fail("parse", "malformed digestAlgorithms")
	}
	dAlg, ok := readAlgID(&digests)
	if !ok || !digests.Empty() {
		return fail("digestAlgorithm", "digestAlgorithms must hold exactly one well-formed algorithm")
	}
	if !dAlg.Equal(oidSHA256) {
		return fail("digestAlgorithm", "digest algorithm is %s, want SHA-256", dAlg)
	}
	if !sd.ReadASN1(&encap, cbasn1.SEQUENCE) || !encap.ReadASN1ObjectIdentifier(&oid) {
		return fail("parse", "malformed encapContentInfo")
	}
	if !oid.Equal(oidData) {
		return fail("contentType", "encapsulated content type is %s, want id-data", oid)
	}
	var tlv []byte
	if !encap.ReadASN1(&eWrapped, cbasn1.Tag(0).Constructed().ContextSpecific()) || !encap.Empty() ||
		!eWrapped.ReadASN1Bytes(&tlv, cbasn1.OCTET_STRING) || !eWrapped.Empty() {
		return fail("parse", "malformed eContent (want [0] EXPLICIT OCTET STRING)")
	}
	if sd.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) || sd.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return fail("certificates", "CD carries certificates or CRLs; the Matter CD format has none")
	}
	if !sd.ReadASN1(&signerInfos, cbasn1.SET) || !sd.Empty() {
		return fail("parse", "malformed signerInfos")
	}
	if !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) || !signerInfos.Empty() {
		return fail("signerInfo", "signerInfos must hold exactly one SignerInfo")
	}
	if !si.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version != 3 {
		return fail("signerInfo.version", "SignerInfo version must be 3")
	}
	var skid []byte
	if !si.ReadASN1Bytes(&skid, cbasn1.Tag(0).ContextSpecific()) {
		return fail("signerInfo.sid", "SignerInfo sid must be [0] subjectKeyIdentifier")
	}
	if len(skid) == 0 || len(skid) > keyIdentifierLen {
		return fail("signerInfo.sid", "signer key identifier is %d bytes, want 1 to %d", len(skid), keyIdentifierLen)
	}
	if dAlg, ok = readAlgID(&si); !ok || !dAlg.Equal(oidSHA256) {
		return fail("digestAlgorithm", "SignerInfo digest algorithm must be SHA-256")
	}
	if si.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return fail("signedAttributes", "SignerInfo has signed attributes; the Matter CD format has none")
	}
	sAlg, ok := readAlgID(&si)
	if !ok || !sAlg.Equal(oidECDSAWithSHA2) {
		return fail("signatureAlgorithm", "signature algorithm is %s, want ecdsa-with-SHA256", sAlg)
	}
	var sig []byte
	if !si.ReadASN1Bytes(&sig, cbasn1.OCTET_STRING) || !si.Empty() {
		return fail("signerInfo", "malformed signature or extra SignerInfo fields (unsigned attributes are not allowed)")
	}
	if err := checkECDSASig(sig); err != nil {
		return fail("signature", "%v", err)
	}
	content, err := ParseCDContent(tlv)
	if err != nil {
		return nil, err
	}
	return &CD{
		Content:     *content,
		SignerKeyID: append([]byte(nil), skid...),
		Signature:   append([]byte(nil), sig...),
		RawContent:  append([]byte(nil), tlv...),
		Raw:         append([]byte(nil), der...),
	}, nil
}

// checkECDSASig requires a DER Ecdsa-Sig-Value with r and s of P-256 size.
func checkECDSASig(sig []byte) error {
	s := cryptobyte.String(sig)
	var inner cryptobyte.String
	var r, ss []byte
	if !s.ReadASN1(&inner, cbasn1.SEQUENCE) || !s.Empty() ||
		!inner.ReadASN1Bytes(&r, cbasn1.INTEGER) || !inner.ReadASN1Bytes(&ss, cbasn1.INTEGER) || !inner.Empty() {
		return fmt.Errorf("signature is not a DER ECDSA signature")
	}
	for _, n := range [][]byte{r, ss} {
		if len(n) == 0 || len(n) > 33 || (len(n) == 33 && n[0] != 0) || n[0]&0x80 != 0 {
			return fmt.Errorf("signature integers are not P-256 sized positive integers")
		}
	}
	return nil
}

// Verify checks that the CD was signed by signerCert's key: the SignerInfo
// key identifier must equal the certificate's SKID, and the signature must
// verify over the TLV content.
func (cd *CD) Verify(signerCert *x509.Certificate) error {
	if signerCert == nil {
		return ruleErr("cd", "signerNotFound", "no CD signer certificate given")
	}
	if !bytes.Equal(cd.SignerKeyID, signerCert.SubjectKeyId) {
		return ruleErr("cd", "signerNotFound", "CD signer key identifier %X does not match the signer certificate SKID %X", cd.SignerKeyID, signerCert.SubjectKeyId)
	}
	pub, ok := signerCert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return ruleErr("cd", "signerKey", "CD signer certificate key is %s, want EC P-256", describeKey(signerCert.PublicKey))
	}
	return cd.VerifyKey(pub)
}

// VerifyKey checks the CD signature with a known key (such as one of the
// CSA signing keys) without a certificate. A CD under a published test CD
// signing key is accepted only as a development CD (certification_type 0),
// as the SDK's commissioners do, whoever names that key as the signer.
func (cd *CD) VerifyKey(pub *ecdsa.PublicKey) error {
	digest := sha256.Sum256(cd.RawContent)
	if pub == nil || !ecdsa.VerifyASN1(pub, digest[:], cd.Signature) {
		return ruleErr("cd", "signature", "CD signature does not verify with the signer key")
	}
	if name := testCDSigner(cd.SignerKeyID, pub); name != "" && cd.Content.CertificationType != CertificationTypeDev {
		return ruleErr("cd", "testSignerNotDevelopment", "CD has certification_type %d but is signed by the published test key %q; commissioners accept that key only on development CDs (certification_type 0)",
			cd.Content.CertificationType, name)
	}
	return nil
}

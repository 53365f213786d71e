package inspect

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/flash"
	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/lineclient/esp/partition"
	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/manifest"
)

// Options are the references a flash is checked against; all optional.
type Options struct {
	PAA      *x509.Certificate // trust anchor of the DAC chain
	CDSigner *x509.Certificate // certificate the CD must be signed by
	Manifest []manifest.Row    // the station's manifest: the module's row is found by its DAC
	Now      time.Time         // for certificate validity (zero: now)
}

// Inspect reads b: a whole flash image, an esp_secure_cert partition, an NVS
// partition or a partition table.
func Inspect(b []byte, o Options) *Report {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	r := &Report{Size: len(b)}
	var sc, fctry []byte
	switch {
	case len(b) >= flash.TableOffset+partition.SectorSize && bytes.HasPrefix(b[flash.TableOffset:], []byte{0xAA, 0x50}):
		r.Kind = KindImage
		sc, fctry = r.inspectImage(b)
	case len(b) >= 4 && binary.LittleEndian.Uint32(b) == securecert.Magic:
		r.Kind = KindSecureCert
		sc = b
	case len(b) >= nvs.PageSize && len(b)%nvs.PageSize == 0 && isNVSPage(b):
		r.Kind = KindNVS
		fctry = b
	case bytes.HasPrefix(b, []byte{0xAA, 0x50}):
		r.Kind = KindTable
		r.inspectTable(b, 0)
	default:
		r.fail("input", fmt.Sprintf("%d bytes are not a flash image (no partition table at 0x%x), an esp_secure_cert partition, an nvs partition or a partition table", len(b), flash.TableOffset))
	}
	if sc != nil {
		r.inspectSecureCert(sc, o)
	}
	if fctry != nil {
		r.inspectNVS(fctry)
	}
	r.crossCheck(o)
	r.OK = len(r.Checks) > 0 && len(r.Failed()) == 0
	return r
}

func isNVSPage(b []byte) bool {
	st := binary.LittleEndian.Uint32(b)
	return st == 0xFFFFFFFE || st == 0xFFFFFFFC || st == 0xFFFFFFF8
}

func (r *Report) inspectTable(b []byte, at uint32) *partition.Table {
	t, err := partition.ParseBinary(b)
	if err == nil {
		err = t.Verify(at)
	}
	if err != nil {
		r.fail("partition table", fmt.Sprintf("at 0x%x: %v", at, err))
		return nil
	}
	r.Table = t
	for _, e := range t.Entries {
		r.Partitions = append(r.Partitions, Partition{Name: e.Name, Type: partition.TypeName(e.Type),
			Subtype: partition.SubtypeName(e.Type, e.Subtype), Offset: e.Offset, Size: e.Size, Flags: partition.FlagNames(e.Flags)})
	}
	detail := fmt.Sprintf("%d partitions", len(t.Entries))
	if t.HasMD5 {
		detail += ", md5 ok"
	} else {
		detail += ", no md5 entry"
	}
	r.ok("partition table", detail)
	return t
}

// inspectImage checks the table and finds esp_secure_cert and the factory
// NVS partition.
func (r *Report) inspectImage(b []byte) (sc, fctry []byte) {
	t := r.inspectTable(b[flash.TableOffset:flash.TableOffset+partition.SectorSize], flash.TableOffset)
	if t == nil {
		return nil, nil
	}
	if err := t.FitsFlash(uint64(len(b))); err != nil {
		r.fail("partition table", err.Error())
		return nil, nil
	}
	var scEntry, nvsEntry *partition.Entry
	for i, e := range t.Entries {
		switch {
		case scEntry == nil && (e.Name == flash.SecureCert || e.Type == partition.TypeSecureCert):
			scEntry = &t.Entries[i]
		case e.Name == flash.Factory:
			nvsEntry = &t.Entries[i]
		}
	}
	if scEntry == nil {
		r.fail("esp_secure_cert", "no esp_secure_cert partition (type 0x3f) in the table")
	} else {
		if !scEntry.Encrypted() {
			r.fail("esp_secure_cert", "the partition is not flagged encrypted: flash encryption would not protect the key")
		}
		r.SecureCertOffset = int(scEntry.Offset)
		sc = b[scEntry.Offset:scEntry.End()]
	}
	if nvsEntry == nil {
		r.fail("factory nvs", fmt.Sprintf("no %q partition in the table", flash.Factory))
	} else {
		if nvsEntry.Type != partition.TypeData || nvsEntry.Subtype != partition.SubtypeNVS {
			r.fail("factory nvs", fmt.Sprintf("partition %s is %s/%s, not data/nvs", nvsEntry.Name,
				partition.TypeName(nvsEntry.Type), partition.SubtypeName(nvsEntry.Type, nvsEntry.Subtype)))
		}
		r.NVSOffset = int(nvsEntry.Offset)
		fctry = b[nvsEntry.Offset:nvsEntry.End()]
	}
	return sc, fctry
}

func (r *Report) inspectSecureCert(b []byte, o Options) {
	p, err := securecert.Parse(b)
	if err != nil {
		r.fail("esp_secure_cert tlvs", fmt.Sprintf("partition at 0x%x: %v", r.SecureCertOffset, err))
		return
	}
	r.SecureCert = p
	for _, e := range p.Entries {
		r.TLVs = append(r.TLVs, TLV{Offset: e.Offset, Type: e.Type.String(), Subtype: e.Subtype, Flags: e.Flags,
			Length: len(e.Data), Padding: e.Padding(), CRC: e.CRC, Summary: summarize(e)})
	}
	r.ok("esp_secure_cert tlvs", fmt.Sprintf("%d entries, every crc ok, %d bytes used", len(p.Entries), p.Used))
	if p.Sealed {
		r.ok("esp_secure_cert integrity", "INTEGRITY sha-256 matches the bytes before it")
	} else {
		r.fail("esp_secure_cert integrity", "no INTEGRITY entry")
	}
	if dev, ok := p.Find(securecert.TypeDevCert, 0); ok {
		if r.DAC, err = x509.ParseCertificate(dev.Data); err != nil {
			r.fail("dac", fmt.Sprintf("DEV_CERT at 0x%x is not a DER certificate: %v", dev.Offset, err))
		}
	} else {
		r.missing = append(r.missing, Check{"dac", StatusFail, "no DEV_CERT (type 1, subtype 0) entry"})
	}
	if ca, ok := p.Find(securecert.TypeCACert, 0); ok {
		if r.PAI, err = x509.ParseCertificate(ca.Data); err != nil {
			r.fail("pai", fmt.Sprintf("CA_CERT at 0x%x is not a DER certificate: %v", ca.Offset, err))
		}
	} else {
		r.missing = append(r.missing, Check{"pai", StatusFail, "no CA_CERT (type 0, subtype 0) entry"})
	}
	if r.DAC != nil || r.PAI != nil {
		r.DACSource = "esp_secure_cert"
	}
	r.checkKey(p)
}

func summarize(e securecert.Entry) string {
	switch e.Type {
	case securecert.TypeDevCert, securecert.TypeCACert:
		if c, err := x509.ParseCertificate(e.Data); err == nil {
			return "certificate " + c.Subject.String()
		}
		return "not a der certificate"
	case securecert.TypePrivKey:
		s := securecert.KeyStorageOf(e.Flags).String() + " key"
		if k, err := x509.ParseECPrivateKey(e.Data); err == nil {
			der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			s += fmt.Sprintf(", public key sha-256 %x", sha256.Sum256(der))
		}
		return s
	case securecert.TypeSecCfg:
		if len(e.Data) > 0 {
			return fmt.Sprintf("key in efuse block %d", e.Data[0])
		}
	case securecert.TypeHMACKeySalt:
		return fmt.Sprintf("%d-byte salt of the derived key", len(e.Data))
	case securecert.TypeIntegrity:
		return "sha-256 of the entries before it"
	}
	return ""
}

// checkKey checks the PRIV_KEY entry as ESP32SecureCertDACProvider reads it.
func (r *Report) checkKey(p *securecert.Partition) {
	e, ok := p.Find(securecert.TypePrivKey, 0)
	if !ok {
		r.missing = append(r.missing, Check{"dac key", StatusFail, "no PRIV_KEY (type 2, subtype 0) entry"})
		return
	}
	storage := securecert.KeyStorageOf(e.Flags)
	r.KeyStorage = storage.String()
	switch storage {
	case securecert.KeyPlaintext:
		k, err := x509.ParseECPrivateKey(e.Data)
		switch {
		case err != nil:
			r.fail("dac key", fmt.Sprintf("PRIV_KEY at 0x%x is not a DER SEC1 EC key: %v", e.Offset, err))
		case k.Curve.Params().Name != "P-256":
			r.fail("dac key", fmt.Sprintf("PRIV_KEY at 0x%x is on %s, not P-256", e.Offset, k.Curve.Params().Name))
		case len(e.Data) != 121:
			r.fail("dac key", fmt.Sprintf("PRIV_KEY at 0x%x is %d bytes; the Matter reader takes a 121-byte SEC1 key", e.Offset, len(e.Data)))
		case r.DAC == nil:
			r.skip("dac key", "p-256 key stored in plaintext; no DAC to compare it with")
		default:
			if k.PublicKey.Equal(r.DAC.PublicKey) {
				r.ok("dac key", "the DAC certifies the stored p-256 key (plaintext in the flash-encrypted partition)")
			} else {
				r.fail("dac key", "the DAC certifies another key than the stored PRIV_KEY")
			}
		}
	case securecert.KeyEFuse:
		cfg, ok := p.Find(securecert.TypeSecCfg, 0)
		switch {
		case len(e.Data) != 0:
			r.fail("dac key", "PRIV_KEY flagged as in eFuse carries key bytes")
		case !ok || len(cfg.Data) != securecert.SecCfgLen:
			r.fail("dac key", "eFuse key without a 40-byte SEC_CFG entry naming its block")
		case cfg.Data[0] < securecert.EFuseKeyBlock0 || cfg.Data[0] > securecert.EFuseKeyBlock0+5:
			r.fail("dac key", fmt.Sprintf("SEC_CFG names eFuse block %d, not a key block (4..9)", cfg.Data[0]))
		default:
			r.skip("dac key", fmt.Sprintf("the key is in eFuse block %d (ECDSA peripheral): not in flash, not compared", cfg.Data[0]))
		}
	case securecert.KeyDerived:
		salt, ok := p.Find(securecert.TypeHMACKeySalt, 0)
		if !ok || len(salt.Data) != 32 {
			r.fail("dac key", "derived key without a 32-byte HMAC_ECDSA_KEY_SALT entry")
		} else {
			r.skip("dac key", "the key is derived on the chip from its HMAC eFuse key: not in flash, not compared")
		}
	default:
		r.fail("dac key", "PRIV_KEY is encrypted with an HMAC-derived key: the Matter DAC provider does not read that form")
	}
}

func (r *Report) inspectNVS(b []byte) {
	p, err := nvs.Parse(b)
	if err != nil {
		r.fail("factory nvs", fmt.Sprintf("partition at 0x%x: %v", r.NVSOffset, err))
		return
	}
	r.NVS = p
	for _, it := range p.Items {
		r.NVSEntries = append(r.NVSEntries, NVSEntry{Offset: it.Offset, Page: it.Page, Index: it.Index, Namespace: it.Namespace,
			Type: it.Type.String(), Span: it.Span, Chunk: it.ChunkIndex, Key: it.Key, CRC: it.CRC,
			DataSize: it.DataSize, DataCRC: it.DataCRC, Erased: it.Erased})
	}
	for _, e := range p.Entries {
		r.Values = append(r.Values, Value{Namespace: e.Namespace, Key: e.Key, Type: e.Type.String(), Value: e.ValueString()})
	}
	if _, ok := p.Namespaces[factorydata.Namespace]; !ok {
		r.fail("factory nvs", fmt.Sprintf("no %s namespace (%d entries read, every crc ok)", factorydata.Namespace, len(p.Entries)))
		return
	}
	r.ok("factory nvs", fmt.Sprintf("%d entries, every crc ok", len(p.Entries)))
	f, problems := decodeFactory(p)
	r.Factory = f
	var missing []string
	for _, k := range []struct {
		key string
		ok  bool
	}{{factorydata.KeyDiscriminator, f.Discriminator != nil}, {factorydata.KeyIterations, f.Iterations != nil},
		{factorydata.KeySalt, f.Salt != nil}, {factorydata.KeyVerifier, f.Verifier != nil},
		{factorydata.KeySerialNumber, f.SerialNumber != ""}, {factorydata.KeyVendorID, f.VendorID != nil},
		{factorydata.KeyProductID, f.ProductID != nil}, {factorydata.KeyRotatingID, f.RotatingIDUID != nil},
		{factorydata.KeyCD, f.CD != nil}} {
		if !k.ok {
			missing = append(missing, k.key)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("missing %v", missing))
	}
	if f.Discriminator != nil && *f.Discriminator > 4095 {
		problems = append(problems, fmt.Sprintf("discriminator %d exceeds 4095", *f.Discriminator))
	}
	if f.Iterations != nil && (*f.Iterations < 1000 || *f.Iterations > 100000) {
		problems = append(problems, fmt.Sprintf("iteration-count %d outside 1000..100000", *f.Iterations))
	}
	if f.Salt != nil && (len(f.Salt) < 16 || len(f.Salt) > 32) {
		problems = append(problems, fmt.Sprintf("salt is %d bytes, want 16..32", len(f.Salt)))
	}
	if f.Verifier != nil && (len(f.Verifier) != 97 || f.Verifier[32] != 0x04) {
		problems = append(problems, "verifier is not w0 (32) ‖ L (65, uncompressed)")
	}
	if f.VendorID != nil && (*f.VendorID == 0 || *f.VendorID > 0xFFF4) {
		problems = append(problems, fmt.Sprintf("vendor-id 0x%x is not a vendor id", *f.VendorID))
	}
	if f.ProductID != nil && (*f.ProductID == 0 || *f.ProductID > 0xFFFF) {
		problems = append(problems, fmt.Sprintf("product-id 0x%x is not a product id", *f.ProductID))
	}
	if f.RotatingIDUID != nil && len(f.RotatingIDUID) < 16 {
		problems = append(problems, fmt.Sprintf("rd-id-uid is %d bytes, at least 16", len(f.RotatingIDUID)))
	}
	if len(problems) > 0 {
		r.fail("factory data", fmt.Sprint(problems))
	} else {
		r.ok("factory data", "every key esp-matter needs, with the types and bounds it reads")
	}
}

package stationhome

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/matter"
)

// InitOptions are the inputs of `lineclient init`.
type InitOptions struct {
	Appliance *bundle.ApplianceIdentity // validated appliance.id
	Name      string                    // station name (bundle.ValidateName)
	VID, PID  uint16
	CD        []byte // DER Certification Declaration, optional
	// CDSigner is the certificate (PEM or DER) the CD must be signed by,
	// optional and only with CD: Init refuses a CD it does not verify.
	CDSigner []byte
	// Product: optional product-info fields written into every module
	// (zero: none).
	Product lineproto.ProductInfo
	Now     time.Time
}

// maxCDSize bounds cd.der (a CD is a few hundred bytes; CSA allows up to 600 in the attestation elements).
const maxCDSize = 4 << 10

// Init creates a new station home at dir: fresh age and Ed25519 keys, the appliance's
// anchors, the product settings and an empty station.db. dir must not exist or be an
// empty directory. The home is assembled in a temporary sibling and renamed into place.
func Init(dir string, o InitOptions) (*Home, error) {
	if err := bundle.ValidateName(o.Name); err != nil {
		return nil, fmt.Errorf("station name: %w", err)
	}
	if o.Appliance == nil {
		return nil, errors.New("init station: no appliance identity")
	}
	if err := o.Appliance.Validate(); err != nil {
		return nil, err
	}
	if o.VID == 0 {
		return nil, errors.New("init station: vid 0000 is not a vendor ID")
	}
	if o.PID == 0 {
		return nil, errors.New("init station: pid 0000 is not a product ID")
	}
	if !o.Product.IsZero() {
		if err := o.Product.Validate(); err != nil {
			return nil, fmt.Errorf("init station: %w", err)
		}
	}
	if o.CD != nil {
		var raw asn1.RawValue
		rest, err := asn1.Unmarshal(o.CD, &raw)
		if err != nil || len(rest) != 0 || len(o.CD) > maxCDSize {
			return nil, fmt.Errorf("init station: cd is not one DER object of at most %d bytes", maxCDSize)
		}
	}
	if err := CheckProduct(o.Appliance, o.CD, o.VID, o.PID); err != nil {
		return nil, fmt.Errorf("init station: %w", err)
	}
	if o.CDSigner != nil {
		if o.CD == nil {
			return nil, fmt.Errorf("init station: %w", ErrCDSignerWithoutCD)
		}
		signer, err := VerifyCD(o.CD, o.CDSigner)
		if err != nil {
			return nil, fmt.Errorf("init station: %w", err)
		}
		o.CDSigner = matter.EncodePEM(signer.Raw) // kept as PEM
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	entries, err := os.ReadDir(dir)
	existedEmpty := err == nil && len(entries) == 0
	switch {
	case err == nil && len(entries) > 0:
		return nil, fmt.Errorf("init station %s: %w", dir, ErrExists)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("init station: %w", err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("init station: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".init-")
	if err != nil {
		return nil, fmt.Errorf("init station: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, err
	}
	if err := populate(tmp, o); err != nil {
		return nil, fmt.Errorf("init station: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	if existedEmpty {
		os.Remove(dir) // an existing empty directory is replaced
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("init station: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return nil, err
	}
	return Open(dir)
}

func populate(dir string, o InitOptions) error {
	ageID, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	vid, pid := fmt.Sprintf("%04X", o.VID), fmt.Sprintf("%04X", o.PID)
	sid, err := bundle.NewStationIdentity(o.Name, ageID.Recipient(), pub, vid, pid)
	if err != nil {
		return err
	}
	created := o.Now.UTC().Truncate(time.Second)
	ageText := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", created.Format(time.RFC3339), ageID.Recipient(), ageID)
	if err := writeFile(dir, AgeIdentityFile, []byte(ageText), 0o600); err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	if err := writeFile(dir, SigningKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := sid.Write(filepath.Join(dir, StationIDFile)); err != nil {
		return err
	}
	if err := o.Appliance.Write(filepath.Join(dir, ApplianceIDFile)); err != nil {
		return err
	}
	if err := writeFile(dir, PAIFile, []byte(o.Appliance.PAIPEM), 0o644); err != nil {
		return err
	}
	if err := writeFile(dir, PAAFile, []byte(o.Appliance.PAAPEM), 0o644); err != nil {
		return err
	}
	if o.CD != nil {
		if err := writeFile(dir, CDFile, o.CD, 0o644); err != nil {
			return err
		}
	}
	if o.CDSigner != nil {
		if err := writeFile(dir, CDSignerFile, o.CDSigner, 0o644); err != nil {
			return err
		}
	}
	cfg := Config{Version: 1, Name: o.Name, VID: vid, PID: pid, ApplianceName: o.Appliance.Name, HasCD: o.CD != nil,
		HasCDSigner: o.CDSigner != nil, Created: created}
	if !o.Product.IsZero() {
		p := o.Product
		cfg.Product = &p
	}
	cb, _ := json.MarshalIndent(cfg, "", "  ")
	if err := writeFile(dir, ConfigFile, append(cb, '\n'), 0o644); err != nil {
		return err
	}
	db, err := bbolt.Open(filepath.Join(dir, DBFile), 0o600, nil)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(bundle.ConsumedBucket))
		return err
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeFile(dir, name string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// DefaultName derives a station name from the host name ("station" if none is usable).
func DefaultName() string {
	h, _ := os.Hostname()
	h = strings.ToLower(h)
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.':
			goto done
		}
	}
done:
	name := strings.TrimLeft(b.String(), "-_")
	if len(name) > 63 {
		name = name[:63]
	}
	if bundle.ValidateName(name) != nil {
		return "station"
	}
	return name
}

// WriteEnrollment writes this station's enrollment bundle (station.json, signed by the
// station key, encrypted to the appliance) into outDir and returns its path.
func (h *Home) WriteEnrollment(outDir string) (string, *bundle.Manifest, error) {
	signer, err := h.Signer()
	if err != nil {
		return "", nil, err
	}
	rcpt, err := h.ApplianceRecipient()
	if err != nil {
		return "", nil, err
	}
	sj, err := json.MarshalIndent(h.Identity, "", "  ")
	if err != nil {
		return "", nil, err
	}
	tmp, err := h.TempDir()
	if err != nil {
		return "", nil, err
	}
	b, err := bundle.NewBuilder(bundle.Header{
		Kind: bundle.KindEnrollment, Sender: h.Config.Name,
		Labels: map[string]string{"vid": h.Config.VID, "pid": h.Config.PID},
	}, tmp)
	if err != nil {
		return "", nil, err
	}
	defer b.Close()
	if err := b.AddFile("station.json", strings.NewReader(string(sj)+"\n")); err != nil {
		return "", nil, err
	}
	return b.WriteToDir(outDir, bundle.WriteOptions{Signer: signer, Recipient: rcpt})
}

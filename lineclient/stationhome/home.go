package stationhome

import (
	"crypto/ed25519"
	"crypto/x509"
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
	berrors "go.etcd.io/bbolt/errors"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/matter"
	"github.com/dacline/dacline/shared/storecheck"
)

// File names inside the home.
const (
	ConfigFile      = "config.json"
	StationIDFile   = "station.id"
	AgeIdentityFile = "age-identity.txt"
	SigningKeyFile  = "ed25519-key.pem"
	ApplianceIDFile = "appliance.id"
	PAAFile         = "paa.pem"
	PAIFile         = "pai.pem"
	CDFile          = "cd.der"
	CDSignerFile    = "cd-signer.pem" // optional trust anchor: the CD's signing certificate
	DBFile          = "station.db"
	TempDirName     = "tmp" // bundle temporary files (TempDir)
)

// Errors callers branch on.
var (
	ErrNotInitialized = errors.New("station home not initialized")
	ErrExists         = errors.New("station home already exists")
	ErrInUse          = errors.New("station home in use by another lineclient process")
	ErrPermissions    = errors.New("station home permissions too open")
)

// Config is config.json: what this station provisions.
type Config struct {
	Version       int    `json:"version"`
	Name          string `json:"name"`
	VID           string `json:"vid"` // 4 uppercase hex digits
	PID           string `json:"pid"`
	ApplianceName string `json:"appliance_name"`
	HasCD         bool   `json:"has_cd"`
	// HasCDSigner: cd-signer.pem holds the certificate cd.der must be signed
	// by (lineclient init --cd-signer). Absent in homes made without it.
	HasCDSigner bool      `json:"has_cd_signer,omitempty"`
	Created     time.Time `json:"created"`
	// Product holds the optional product-info fields every module gets
	// (line-protocol item 0x0C, the chip-factory NVS keys vendor-name …
	// product-url). Absent: the item is not written.
	Product *lineproto.ProductInfo `json:"product,omitempty"`
}

// Home is an open station home.
type Home struct {
	dir       string
	Config    Config
	Identity  *bundle.StationIdentity
	Appliance *bundle.ApplianceIdentity
	db        *bbolt.DB
	tmp       string // set by TempDir once prepared
	borrowed  bool   // a Borrow view: Close leaves the owner's db open
}

// Open opens an initialized home: checks the permissions of the directory and the secret
// files, reads the configuration and identities and opens station.db (one process at a time).
func Open(dir string) (*Home, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("station home %s: %w", dir, ErrNotInitialized)
	}
	if err != nil {
		return nil, fmt.Errorf("station home: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("station home %s: %w", dir, ErrNotInitialized)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("station home %s: mode %04o, want 0700: %w", dir, fi.Mode().Perm(), ErrPermissions)
	}
	for _, name := range []string{AgeIdentityFile, SigningKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("station home %s: %w", dir, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("station home %s: %s has mode %04o, want 0600: %w", dir, name, fi.Mode().Perm(), ErrPermissions)
		}
	}
	h := &Home{dir: dir}
	b, err := os.ReadFile(h.Path(ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("station home: %w", err)
	}
	if err := strictJSON(b, &h.Config); err != nil {
		return nil, fmt.Errorf("station home %s: %w", h.Path(ConfigFile), err)
	}
	if h.Config.Product != nil {
		if err := h.Config.Product.Validate(); err != nil {
			return nil, fmt.Errorf("station home %s: product: %w", h.Path(ConfigFile), err)
		}
	}
	if h.Identity, err = bundle.ReadStationIdentity(h.Path(StationIDFile)); err != nil {
		return nil, fmt.Errorf("station home: %w", err)
	}
	if h.Appliance, err = bundle.ReadApplianceIdentity(h.Path(ApplianceIDFile)); err != nil {
		return nil, fmt.Errorf("station home: %w", err)
	}
	if h.Identity.Name != h.Config.Name || h.Appliance.Name != h.Config.ApplianceName {
		return nil, fmt.Errorf("station home %s: config.json names differ from station.id/appliance.id", dir)
	}
	// The secret keys must match the public identity.
	id, err := h.AgeIdentity()
	if err != nil {
		return nil, err
	}
	s, err := h.Signer()
	if err != nil {
		return nil, err
	}
	pub, _ := h.Identity.PublicKey()
	if id.Recipient().String() != h.Identity.AgeRecipient || !pub.Equal(s.Public()) {
		return nil, fmt.Errorf("station home %s: secret keys do not match station.id", dir)
	}
	h.db, err = openDB(h.Path(DBFile))
	if err != nil {
		return nil, err
	}
	return h, nil
}

func openDB(path string) (*bbolt.DB, error) {
	// The home says it was initialised, so station.db must be there: a
	// missing, empty or damaged one is refused, never re-created (bbolt.Open
	// would make an empty store and the station would re-keygen modules it
	// already provisioned) and never mapped (a truncated file faults in bbolt).
	if err := storecheck.Check(path); err != nil {
		return nil, fmt.Errorf("station state %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// Dir is the home directory.
func (h *Home) Dir() string { return h.dir }

// Path returns the path of a file in the home.
func (h *Home) Path(name string) string { return filepath.Join(h.dir, name) }

// DB is station.db, opened once for the process.
func (h *Home) DB() *bbolt.DB { return h.db }

// TempDir returns <home>/tmp (mode 0700) for bundle temporary files: the
// decrypted copy of every dac-batch the station imports and the spool of
// every bundle it writes. The first call in a process removes what killed
// runs left there (bundle.PrepareTempDir); that is safe because the home is
// open in one process at a time (station.db is locked from Open to Close).
func (h *Home) TempDir() (string, error) {
	if h.tmp != "" {
		return h.tmp, nil
	}
	if h.db == nil {
		return "", fmt.Errorf("station home %s: not open", h.dir)
	}
	dir := h.Path(TempDirName)
	if _, err := bundle.PrepareTempDir(dir); err != nil {
		return "", fmt.Errorf("station home: %w", err)
	}
	h.tmp = dir
	return dir, nil
}

// Close closes station.db.
func (h *Home) Close() error {
	if h.borrowed {
		return nil
	}
	if h.db == nil {
		return nil
	}
	err := h.db.Close()
	h.db = nil
	return err
}

// AgeIdentity reads the station's age identity.
func (h *Home) AgeIdentity() (*age.X25519Identity, error) {
	b, err := os.ReadFile(h.Path(AgeIdentityFile))
	if err != nil {
		return nil, fmt.Errorf("station age identity: %w", err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(b)))
	if err != nil || len(ids) != 1 {
		return nil, fmt.Errorf("station age identity %s: want exactly one X25519 identity", h.Path(AgeIdentityFile))
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, fmt.Errorf("station age identity %s: not an X25519 identity", h.Path(AgeIdentityFile))
	}
	return id, nil
}

// Signer returns the station's bundle signer (software Ed25519 key).
func (h *Home) Signer() (*bundle.NoteSigner, error) {
	b, err := os.ReadFile(h.Path(SigningKeyFile))
	if err != nil {
		return nil, fmt.Errorf("station signing key: %w", err)
	}
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("station signing key %s: want one PKCS#8 PRIVATE KEY PEM block", h.Path(SigningKeyFile))
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("station signing key %s: %w", h.Path(SigningKeyFile), err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("station signing key %s: %T, want Ed25519", h.Path(SigningKeyFile), k)
	}
	return bundle.NewNoteSigner(h.Config.Name, priv)
}

// ApplianceRecipient is the age recipient bundles for the appliance are encrypted to.
func (h *Home) ApplianceRecipient() (*age.X25519Recipient, error) { return h.Appliance.Recipient() }

// ResolveAppliance is the bundle.KeyResolver of a station: only the appliance it was
// set up with, and only for dac-batch bundles.
func (h *Home) ResolveAppliance(sender string, kind bundle.Kind) (ed25519.PublicKey, error) {
	if sender != h.Appliance.Name {
		return nil, fmt.Errorf("sender %s is not this station's appliance %s", sender, h.Appliance.Name)
	}
	if kind != bundle.KindDACBatch {
		return nil, fmt.Errorf("the appliance does not send %s bundles to stations", kind)
	}
	return h.Appliance.PublicKey()
}

// Certificates returns the PAI and PAA trust anchors.
func (h *Home) Certificates() (pai, paa *x509.Certificate, err error) {
	return h.Appliance.Certificates()
}

// CD returns the Certification Declaration, or nil when none was installed.
func (h *Home) CD() ([]byte, error) {
	if !h.Config.HasCD {
		return nil, nil
	}
	return os.ReadFile(h.Path(CDFile))
}

// CDSigner returns the CD signer certificate installed with `lineclient init
// --cd-signer`, or nil when none was: then the station checks the CD's
// content against each DAC but cannot check its signature.
func (h *Home) CDSigner() (*x509.Certificate, error) {
	if !h.Config.HasCDSigner {
		return nil, nil
	}
	b, err := os.ReadFile(h.Path(CDSignerFile))
	if err != nil {
		return nil, fmt.Errorf("station cd signer: %w", err)
	}
	c, err := matter.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("station cd signer %s: %w", h.Path(CDSignerFile), err)
	}
	return c, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

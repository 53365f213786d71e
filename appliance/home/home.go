package home

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/matter"
	"github.com/dacline/dacline/shared/storecheck"
)

// Names of the files in the home.
const (
	ConfigFile   = "config.json"
	DBFile       = "appliance.db"
	IdentityFile = "identity.age.enc"
	SoftHSMConf  = "softhsm2.conf"
	TokensDir    = "tokens"
	PAIFile      = "pai.pem"
	PAAFile      = "paa.pem"
	// TempDirName holds bundle temporary files (decrypted copies, spools): on the
	// home's disk, private, and cleared of what killed runs left (TempDir()).
	TempDirName = "tmp"
)

// Sentinel errors callers branch on.
var (
	// ErrNoHome: the directory holds no appliance home (run appliance init).
	ErrNoHome = errors.New("no appliance home")
	// ErrHomeExists: Init refuses to replace an existing home.
	ErrHomeExists = errors.New("appliance home already exists")
	// ErrHomeInUse: another process has the home's database open.
	ErrHomeInUse = errors.New("appliance home is in use by another process")
	// ErrKeyMismatch: the token's key under a configured label is not the key
	// recorded in config.json.
	ErrKeyMismatch = errors.New("token key does not match the appliance configuration")
	// ErrNoPAI: no PAI certificate is installed yet.
	ErrNoPAI = errors.New("no PAI certificate installed")
)

// Home is an open appliance home.
type Home struct {
	dir    string
	Config Config
	db     *bbolt.DB
	tmp    string // set by TempDir once prepared
}

// Open opens the home at dir: reads config.json and opens appliance.db (once;
// a second process gets ErrHomeInUse).
func Open(dir string) (*Home, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoHome, dir)
	}
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("appliance home %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("appliance home %s has mode %04o: it must be accessible to its owner only (0700)", dir, fi.Mode().Perm())
	}
	cfg, err := readConfig(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s (no %s)", ErrNoHome, dir, ConfigFile)
	}
	if err != nil {
		return nil, fmt.Errorf("appliance config: %w", err)
	}
	db, err := openDB(filepath.Join(dir, DBFile), false)
	if err != nil {
		return nil, err
	}
	return &Home{dir: dir, Config: *cfg, db: db}, nil
}

func openDB(path string, create bool) (*bbolt.DB, error) {
	if !create {
		// An initialised home must have its store: a missing, empty or
		// damaged appliance.db is refused, never re-created (bbolt.Open
		// would make an empty one and the appliance would forget every DAC
		// it issued) and never mapped (a truncated file faults in bbolt).
		if err := storecheck.Check(path); err != nil {
			return nil, fmt.Errorf("appliance store %w", err)
		}
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked", ErrHomeInUse, path)
	}
	if err != nil {
		return nil, fmt.Errorf("appliance store %s: %w", path, err)
	}
	return db, nil
}

// Dir is the home's absolute path.
func (h *Home) Dir() string { return h.dir }

// Path returns the path of name inside the home.
func (h *Home) Path(name string) string { return filepath.Join(h.dir, name) }

// DB is the appliance's bbolt store. Other packages create their own buckets
// ("stations", "issuance", "auditlog", …) in it; Close closes it.
func (h *Home) DB() *bbolt.DB { return h.db }

// TempDir returns <home>/tmp (mode 0700) for bundle temporary files:
// ReadOptions.TempDir of every bundle the appliance reads and the spool of
// every bundle it writes. The first call in a process removes the decrypted
// copies and spools that killed runs left there (bundle.PrepareTempDir); that
// is safe because the home is open in one process at a time (appliance.db is
// locked from Open to Close), so nothing there belongs to a live run. Keeping
// them here rather than in /tmp puts a 1M-CSR batch on the home's disk, not a
// RAM-backed tmpfs, and keeps plaintext under the home's permissions.
func (h *Home) TempDir() (string, error) {
	if h.tmp != "" {
		return h.tmp, nil
	}
	dir := h.Path(TempDirName)
	if _, err := bundle.PrepareTempDir(dir); err != nil {
		return "", fmt.Errorf("appliance home: %w", err)
	}
	h.tmp = dir
	return dir, nil
}

// Close closes the store.
func (h *Home) Close() error { return h.db.Close() }

// SaveConfig writes h.Config back (atomically).
func (h *Home) SaveConfig() error { return writeConfig(h.Path(ConfigFile), &h.Config) }

// HSMConfig is the hsm.Config for the home's token.
func (h *Home) HSMConfig() hsm.Config {
	c := hsm.Config{ModulePath: h.Config.HSM.Module, TokenLabel: h.Config.HSM.TokenLabel}
	if h.Config.HSM.SoftHSMConf != "" {
		c.SoftHSMConf = h.Path(h.Config.HSM.SoftHSMConf)
	}
	return c
}

// Unlocked is the home with its token open: the appliance's keys and certificates.
type Unlocked struct {
	Home    *Home
	Token   *hsm.Token
	Signing *hsm.Key // Ed25519 appliance signing key
	PAIKey  *hsm.Key // P-256 PAI key
	// PAI and PAA are the installed certificates, nil before pai/paa setup.
	PAI, PAA *x509.Certificate
}

// OpenToken logs in to the home's token with pin and finds the appliance keys,
// checking that they are the keys recorded at init.
func (h *Home) OpenToken(pin []byte) (*Unlocked, error) {
	tok, err := hsm.Open(h.HSMConfig(), pin)
	if err != nil {
		return nil, err
	}
	u := &Unlocked{Home: h, Token: tok}
	fail := func(err error) (*Unlocked, error) { tok.Close(); return nil, err }
	if u.Signing, err = findKey(tok, h.Config.Keys.Signing); err != nil {
		return fail(err)
	}
	if u.PAIKey, err = findKey(tok, h.Config.Keys.PAI); err != nil {
		return fail(err)
	}
	if u.PAA, err = h.readCert(PAAFile); err != nil {
		return fail(err)
	}
	if u.PAI, err = h.readCert(PAIFile); err != nil {
		return fail(err)
	}
	return u, nil
}

// Close logs out and releases the token.
func (u *Unlocked) Close() error { return u.Token.Close() }

func findKey(tok *hsm.Token, ref KeyRef) (*hsm.Key, error) {
	k, err := tok.FindKey(ref.Label)
	if err != nil {
		return nil, err
	}
	if got, err := encodePublicKey(k.Public()); err != nil || got != ref.PublicKey {
		return nil, fmt.Errorf("key %q on token %q: %w (config.json records another public key)", ref.Label, tok.Label(), ErrKeyMismatch)
	}
	return k, nil
}

func encodePublicKey(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// readCert reads an installed certificate; a missing file is nil, nil.
func (h *Home) readCert(name string) (*x509.Certificate, error) {
	b, err := os.ReadFile(h.Path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := matter.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Path(name), err)
	}
	return c, nil
}

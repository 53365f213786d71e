package home

import (
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/dacline/dacline/appliance/quorum"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/hsm"
)

// InitOptions configures Init.
type InitOptions struct {
	// Name is the appliance name (signed-note key name); see ValidateName.
	Name string
	// Module is the PKCS#11 module; hsm.DefaultModule when empty.
	Module string
	// TokenLabel is the token to use (or to create with NewSoftHSMToken).
	TokenLabel string
	// NewSoftHSMToken creates a SoftHSM2 token whose files live in the home
	// (softhsm2.conf, tokens/), with PIN as its user PIN.
	NewSoftHSMToken bool
	// PIN is the token's user PIN.
	PIN []byte
	// SOPIN is the new SoftHSM2 token's security officer PIN. When nil a random
	// SO PIN is set and forgotten: nobody can then reset the user PIN, which is
	// what a development token kept in the home needs (re-create it instead).
	SOPIN []byte
	// Now is the creation time (time.Now when zero).
	Now time.Time
	// Quorum, when set, records that PIN and SOPIN are split among officers
	// (quorum.go); init logs a quorum-created entry.
	Quorum *quorum.Config
}

// Init creates the appliance home at dir: the token (with NewSoftHSMToken), the
// appliance signing key (Ed25519), the PAI key (P-256) and the AES key that seals
// the age identity, all generated inside the token; the sealed age identity;
// appliance.db with the audit log started (appliance-init, one key-generated
// entry per key, a first signed checkpoint); config.json. It is all or nothing:
// on any failure nothing is left at dir and keys it made on an existing token
// are destroyed.
func Init(dir string, o InitOptions) (retErr error) {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if o.TokenLabel == "" {
		return errors.New("init: a token label is required")
	}
	if len(o.PIN) == 0 {
		return errors.New("init: the token PIN is required")
	}
	if o.Module == "" {
		o.Module = hsm.DefaultModule
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := checkFreeTarget(dir); err != nil {
		return err
	}
	// What killed runs of this init left: their temporary homes and the
	// objects their journals name (initjournal.go).
	if err := cleanupKilledInits(dir, o); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".init-")
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	// Record before acting: the journal names every object init is about to
	// make on the token, with the CKA_ID it will carry.
	journal, err := newInitJournal(o, []string{LabelSigning, LabelPAI, LabelAgeWrap}, map[string]bool{LabelAgeWrap: true})
	if err != nil {
		return err
	}
	if err := journal.write(tmp); err != nil {
		return err
	}
	crashPoint("journal")

	cfg := Config{
		Version: ConfigVersion,
		Name:    o.Name,
		Created: o.Now.UTC().Truncate(time.Second),
		HSM:     HSM{Module: o.Module, TokenLabel: o.TokenLabel},
		Keys: Keys{
			Signing: KeyRef{Label: LabelSigning},
			PAI:     KeyRef{Label: LabelPAI},
			AgeWrap: LabelAgeWrap,
		},
		Quorum: o.Quorum,
	}
	hcfg := hsm.Config{ModulePath: o.Module, TokenLabel: o.TokenLabel}
	if o.NewSoftHSMToken {
		cfg.HSM.SoftHSMConf = SoftHSMConf
		hcfg.SoftHSMConf = filepath.Join(tmp, SoftHSMConf)
		if err := newSoftHSMToken(tmp, hcfg, o.SOPIN, o.PIN); err != nil {
			return err
		}
		crashPoint("token")
	}

	tok, err := hsm.Open(hcfg, o.PIN)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	defer tok.Close()
	keys, err := makeKeys(tmp, tok, &cfg, journal)
	if err != nil {
		return err
	}
	if !o.NewSoftHSMToken {
		// On an existing token a failed init destroys the keys it made (a new
		// SoftHSM2 token goes with the temporary directory).
		defer func() {
			if retErr != nil {
				if err := keys.destroy(); err != nil {
					retErr = fmt.Errorf("%w; cleanup: %v", retErr, err)
				}
			}
		}()
	}
	// Record: the log is born inside the temporary home, with appliance-init,
	// a key-generated entry per key (attributes read back from the token) and a
	// first signed checkpoint, before config.json names the keys and before the
	// rename publishes the home. Keys, log and config therefore appear together
	// or not at all: a crash before the rename leaves no home (only, on an
	// existing token, keys no home refers to, which nothing can use; the
	// re-run destroys them by the journal), a crash after it leaves a
	// complete home.
	if err := recordInit(tmp, &cfg, keys); err != nil {
		return err
	}
	if err := anchorNewHome(tmp, tok, keys.signing, cfg.Name); err != nil {
		return err
	}
	if err := writeConfig(filepath.Join(tmp, ConfigFile), &cfg); err != nil {
		return err
	}
	if o.NewSoftHSMToken {
		// The token was made under the temporary name; point the configuration
		// at where it will live once the home is renamed into place.
		conf := hsm.SoftHSMConfig(filepath.Join(dir, TokensDir))
		if err := writeFileAtomic(filepath.Join(tmp, SoftHSMConf), []byte(conf), 0o600); err != nil {
			return err
		}
	}
	crashPoint("config")
	if err := checkFreeTarget(dir); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("init: move the new home into place: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	crashPoint("published")
	// Cleanup only ever reads journals in .<home>.init-* directories, so the
	// one the published home carries until here is inert; it goes now.
	if err := os.Remove(filepath.Join(dir, initJournalFile)); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return syncDir(dir)
}

// crashPoint is called at each point of Init (and of the test PAA's creation)
// where a kill leaves something behind. It does nothing; the crash tests
// replace it, in their own process, with one that kills the process at a
// chosen point, so that re-running set-up is tested against real kills.
var crashPoint = func(point string) {}

// checkFreeTarget refuses an existing home: dir may be missing or an empty
// directory, nothing else.
func checkFreeTarget(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err == io.EOF {
		return nil
	}
	return fmt.Errorf("%w at %s (init never overwrites one)", ErrHomeExists, dir)
}

// newSoftHSMToken makes the SoftHSM2 configuration and token directory inside the
// (temporary) home and initialises a token there through C_InitToken.
func newSoftHSMToken(tmp string, hcfg hsm.Config, soPIN, pin []byte) error {
	tokens := filepath.Join(tmp, TokensDir)
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := writeFileNew(hcfg.SoftHSMConf, []byte(hsm.SoftHSMConfig(tokens)), 0o600); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if len(soPIN) == 0 {
		// A random SO PIN nobody knows; see InitOptions.SOPIN.
		var b [16]byte
		if _, err := randRead(b[:]); err != nil {
			return fmt.Errorf("init: random SO PIN: %w", err)
		}
		soPIN = []byte(hex.EncodeToString(b[:]))
		defer clear(soPIN)
	}
	if err := hsm.InitToken(hcfg, soPIN, pin); err != nil {
		return fmt.Errorf("init: new SoftHSM2 token: %w", err)
	}
	return nil
}

// initKeys are the keys init made.
type initKeys struct {
	signing, pai *hsm.Key
	wrap         *hsm.SecretKey
	made         []func() error // destroy functions, in generation order
}

// destroy destroys the keys init made, newest first.
func (k *initKeys) destroy() error {
	var errs []error
	for i := len(k.made) - 1; i >= 0; i-- {
		if err := k.made[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// makeKeys generates the appliance keys and the sealed age identity. A
// failure destroys the keys it made.
func makeKeys(tmp string, tok *hsm.Token, cfg *Config, j *initJournal) (_ *initKeys, retErr error) {
	keys := &initKeys{}
	defer func() {
		if retErr != nil {
			if err := keys.destroy(); err != nil {
				retErr = fmt.Errorf("%w; cleanup: %v", retErr, err)
			}
		}
	}()
	var err error
	if keys.signing, err = tok.GenerateKeyPairWithID(hsm.KeyEd25519, cfg.Keys.Signing.Label, j.id(cfg.Keys.Signing.Label)); err != nil {
		return nil, fmt.Errorf("init: appliance signing key: %w", err)
	}
	keys.made = append(keys.made, keys.signing.Destroy)
	crashPoint("key:" + cfg.Keys.Signing.Label)
	if keys.pai, err = tok.GenerateKeyPairWithID(hsm.KeyP256, cfg.Keys.PAI.Label, j.id(cfg.Keys.PAI.Label)); err != nil {
		return nil, fmt.Errorf("init: PAI key: %w", err)
	}
	keys.made = append(keys.made, keys.pai.Destroy)
	crashPoint("key:" + cfg.Keys.PAI.Label)
	if keys.wrap, err = tok.GenerateAESKeyWithID(cfg.Keys.AgeWrap, j.id(cfg.Keys.AgeWrap)); err != nil {
		return nil, fmt.Errorf("init: age wrap key: %w", err)
	}
	keys.made = append(keys.made, keys.wrap.Destroy)
	crashPoint("key:" + cfg.Keys.AgeWrap)

	if cfg.Keys.Signing.PublicKey, err = encodePublicKey(keys.signing.Public()); err != nil {
		return nil, err
	}
	if cfg.Keys.PAI.PublicKey, err = encodePublicKey(keys.pai.Public()); err != nil {
		return nil, err
	}

	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("init: age identity: %w", err)
	}
	blob, err := sealIdentity(keys.wrap, id)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	// Read it back before trusting it: the only copy of the identity is this blob.
	back, err := openIdentity(keys.wrap, blob)
	if err != nil || back.String() != id.String() {
		return nil, fmt.Errorf("init: sealed age identity does not open again: %v", err)
	}
	if err := writeFileNew(filepath.Join(tmp, IdentityFile), blob, 0o600); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	cfg.AgeRecipient = id.Recipient().String()
	return keys, nil
}

// recordInit creates appliance.db in the temporary home and starts the audit
// log in it: appliance-init and the key-generated entries in one transaction,
// then the first checkpoint, signed with the new appliance key (its mirror
// file is written in the temporary home too).
func recordInit(tmp string, cfg *Config, keys *initKeys) (retErr error) {
	db, err := openDB(filepath.Join(tmp, DBFile), true)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("init: close store: %w", err)
		}
	}()
	l, err := applog.OpenInHome(db, tmp)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	entries, err := initEntries(cfg.Name, keys.signing, keys.pai, cfg.Keys.AgeWrap, keys.wrap)
	if err != nil {
		return fmt.Errorf("init: audit log: %w", err)
	}
	if cfg.Quorum != nil {
		entries = append(entries, quorumCreatedEntry(cfg.Quorum))
	}
	if err := appendEntries(l, entries...); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if _, err := signCheckpoint(l, cfg.Name, keys.signing); err != nil {
		return fmt.Errorf("init: first audit checkpoint: %w", err)
	}
	crashPoint("log")
	return nil
}

package sim

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dacline/dacline/shared/lineproto"
)

// persisted is what a module keeps across power cycles: in a real module
// the key sits in an eFuse key block or encrypted flash and never leaves the
// chip; the simulator keeps it in its state file (0600) only so a module
// taken off the jig comes back the same. Nothing in this file is ever sent
// on the line.
type persisted struct {
	FormatVersion int               `json:"format_version"`
	Index         int               `json:"index"`
	MAC           string            `json:"mac"` // 12 lowercase hex digits
	KeyPKCS8      []byte            `json:"key_pkcs8,omitempty"`
	AttestPKCS8   []byte            `json:"attest_key_pkcs8,omitempty"` // only on a lying module
	CSR           []byte            `json:"csr,omitempty"`
	KeysGenerated int               `json:"keys_generated"`
	Lying         bool              `json:"lying"`
	Items         map[string][]byte `json:"items"` // item number → committed value
	LockMask      uint8             `json:"lock_mask"`
	History       []uint8           `json:"history"`
	Boots         int               `json:"boots"`
	// Key storage variant (keystorage.go) and, for a derived key, the
	// simulated eFuse HMAC key and the salt kept in flash.
	KeyStorage string `json:"key_storage,omitempty"`
	HMACKey    []byte `json:"efuse_hmac_key,omitempty"`
	KeySalt    []byte `json:"key_salt,omitempty"`
}

const persistedFormat = 1

func (p *persisted) setKey(k *ecdsa.PrivateKey, csr []byte) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	p.KeyPKCS8, p.CSR = der, csr
	p.KeysGenerated++
	return nil
}

func (p *persisted) setLyingKey(k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	p.AttestPKCS8 = der
	return nil
}

// macFor derives module index's MAC: a locally administered address
// 02:DA:C1:xx:xx:xx whose low 24 bits are a seed-derived base plus the
// index, so MACs are stable per (seed, index) and distinct across indexes.
func macFor(seed uint64, index int) [6]byte {
	h := sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("dacline-sim mac\x00"), seed))
	base := uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	low := (base + uint32(index)) & 0xFFFFFF
	return [6]byte{0x02, 0xDA, 0xC1, byte(low >> 16), byte(low >> 8), byte(low)}
}

// lyingFor decides once, from seed and index, whether the module lies.
func lyingFor(seed uint64, index int, rate float64) bool {
	if rate <= 0 {
		return false
	}
	b := binary.LittleEndian.AppendUint64([]byte("dacline-sim lying\x00"), seed)
	h := sha256.Sum256(binary.LittleEndian.AppendUint64(b, uint64(index)))
	u := float64(binary.LittleEndian.Uint64(h[:8])>>11) / float64(uint64(1)<<53)
	return u < rate
}

// stateStore writes module files into a directory, atomically.
type stateStore struct{ dir string }

func newStateStore(dir string) (*stateStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sim state dir %s: %w", dir, err)
	}
	return &stateStore{dir: dir}, nil
}

func (s *stateStore) path(mac string) string { return filepath.Join(s.dir, "module-"+mac+".json") }

// load returns the module's saved state, or fs.ErrNotExist.
func (s *stateStore) load(mac string) (*persisted, error) {
	b, err := os.ReadFile(s.path(mac))
	if err != nil {
		return nil, err
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("sim state %s: %w", s.path(mac), err)
	}
	if p.FormatVersion != persistedFormat || p.MAC != mac {
		return nil, fmt.Errorf("sim state %s: format %d / mac %q unexpected", s.path(mac), p.FormatVersion, p.MAC)
	}
	if !lineproto.LockMask(p.LockMask).Valid() {
		return nil, fmt.Errorf("sim state %s: lock mask 0x%02x is not a burn-order prefix", s.path(mac), p.LockMask)
	}
	if p.Items == nil {
		p.Items = map[string][]byte{}
	}
	return &p, nil
}

// save writes p: temp file, fsync, rename, fsync the directory.
func (s *stateStore) save(p *persisted) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".module-*.tmp")
	if err != nil {
		return fmt.Errorf("sim state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("sim state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("sim state %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sim state %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sim state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.path(p.MAC)); err != nil {
		return fmt.Errorf("sim state: %w", err)
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("sim state dir: %w", err)
	}
	defer d.Close()
	return d.Sync()
}

// loadModule returns module index, from the store when it has it.
func loadModule(index int, opts *Options, store *stateStore) (*module, error) {
	mac := macFor(opts.Seed, index)
	macHex := hex.EncodeToString(mac[:])
	var p *persisted
	if store != nil {
		var err error
		p, err = store.load(macHex)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if p == nil {
		p = &persisted{FormatVersion: persistedFormat, Index: index, MAC: macHex,
			Items: map[string][]byte{}, Lying: lyingFor(opts.Seed, index, opts.Faults.Lying)}
	}
	m := &module{p: *p, store: store, opts: opts}
	m.reset()
	if len(p.KeyPKCS8) > 0 {
		k, err := parsePKCS8EC(p.KeyPKCS8)
		if err != nil {
			return nil, fmt.Errorf("sim module %s: key: %w", macHex, err)
		}
		m.key, m.attestKey = k, k
		if len(p.AttestPKCS8) > 0 {
			if m.attestKey, err = parsePKCS8EC(p.AttestPKCS8); err != nil {
				return nil, fmt.Errorf("sim module %s: attest key: %w", macHex, err)
			}
		}
	}
	m.noteState()
	return m, nil
}

func parsePKCS8EC(der []byte) (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ecdsa key")
	}
	return ec, nil
}

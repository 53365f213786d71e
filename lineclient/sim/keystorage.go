package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"github.com/dacline/dacline/lineclient/esp/securecert"
)

// Key storage variants a module can be built with (Options.KeyStorage):
// where its DAC key lives, which decides what esp_secure_cert holds.
const (
	// KeyPlaintext: the DER key in esp_secure_cert (flash-encrypted).
	KeyPlaintext = "plaintext"
	// KeyEFuse: the key in an eFuse key block (ECDSA peripheral); flash has
	// an empty PRIV_KEY and a SEC_CFG naming the block.
	KeyEFuse = "efuse"
	// KeyDerived: the key derived on the chip from an HMAC eFuse key and a
	// salt in flash (PBKDF2-HMAC-SHA256, 2,048 iterations).
	KeyDerived = "derived"
)

// efuseKeyBlock is the block an eFuse-stored key is burned into: KEY1
// (block 5), KEY0 being the flash-encryption key of lock step 1.
const efuseKeyBlock = securecert.EFuseKeyBlock0 + 1

func checkKeyStorage(s string) error {
	switch s {
	case "", KeyPlaintext, KeyEFuse, KeyDerived:
		return nil
	}
	return fmt.Errorf("sim: key storage %q: want %s, %s or %s", s, KeyPlaintext, KeyEFuse, KeyDerived)
}

// newKey makes the module's one key where its storage variant puts it. For
// the derived variant the key is a function of the (simulated) eFuse HMAC
// key and the salt, both kept in the module's state; the state file stands
// for the chip's eFuses throughout.
func (m *module) newKey() (*ecdsa.PrivateKey, error) {
	storage := m.opts.KeyStorage
	if storage == "" {
		storage = KeyPlaintext
	}
	m.p.KeyStorage = storage
	if storage != KeyDerived {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	hmacKey := make([]byte, 32)
	if _, err := rand.Read(hmacKey); err != nil {
		return nil, err
	}
	for range 8 {
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		k, err := deriveKey(hmacKey, salt)
		if err != nil {
			continue // a scalar outside 1..n-1: another salt
		}
		m.p.HMACKey, m.p.KeySalt = hmacKey, salt
		return k, nil
	}
	return nil, fmt.Errorf("sim: no valid derived key")
}

// deriveKey is the chip's derivation: PBKDF2-HMAC-SHA256 keyed by the HMAC
// eFuse key over the salt, 2,048 iterations, 32 bytes read as the scalar.
func deriveKey(hmacKey, salt []byte) (*ecdsa.PrivateKey, error) {
	d, err := pbkdf2.Key(sha256.New, string(hmacKey), salt, securecert.DerivedKeyIterations, 32)
	if err != nil {
		return nil, err
	}
	return ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
}

// keyEntries are the esp_secure_cert entries for the module's key.
func (m *module) keyEntries() ([]securecert.Entry, error) {
	if m.key == nil {
		return nil, nil
	}
	switch m.p.KeyStorage {
	case KeyEFuse:
		return securecert.EFuseKeyEntries(efuseKeyBlock)
	case KeyDerived:
		return securecert.DerivedKeyEntries(m.p.KeySalt)
	}
	der, err := x509.MarshalECPrivateKey(m.key)
	if err != nil {
		return nil, err
	}
	return securecert.PlaintextKeyEntries(der), nil
}

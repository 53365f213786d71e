package securecert

import "fmt"

// KeyStorage says where a PRIV_KEY entry's key lives.
type KeyStorage int

const (
	KeyPlaintext     KeyStorage = iota // DER key in the (flash-encrypted) partition
	KeyHMACEncrypted                   // key encrypted with an HMAC-derived key
	KeyDerived                         // derived on the chip from an HMAC eFuse key and the salt entry
	KeyEFuse                           // in an eFuse block used by the ECDSA peripheral
)

func (k KeyStorage) String() string {
	return [...]string{"plaintext", "hmac-encrypted", "hmac-derived", "efuse"}[k]
}

// KeyStorageOf reads a PRIV_KEY header's flags the way
// esp_secure_cert_get_priv_key_type does: derived first, then the ECDSA
// peripheral, then encrypted, else plaintext.
func KeyStorageOf(flags uint8) KeyStorage {
	switch {
	case flags>>6 == 0b01:
		return KeyDerived
	case (flags>>3)&0b111 == 0b001:
		return KeyEFuse
	case flags>>6 == 0b10:
		return KeyHMACEncrypted
	}
	return KeyPlaintext
}

// EFuseKeyBlock0 is BLOCK_KEY0: SEC_CFG names a key block as key id + 4.
const EFuseKeyBlock0 = 4

// PlaintextKeyEntries store a DER SEC1 key in the partition.
func PlaintextKeyEntries(der []byte) []Entry {
	return []Entry{{Type: TypePrivKey, Data: der}}
}

// EFuseKeyEntries say the key is in eFuse key block block (4..9): an
// empty PRIV_KEY with the ECDSA-peripheral flag and a SEC_CFG naming the
// block, as esp_secure_cert_mgr's builder writes them.
func EFuseKeyEntries(block uint8) ([]Entry, error) {
	if block < EFuseKeyBlock0 || block > EFuseKeyBlock0+5 {
		return nil, fmt.Errorf("%w: efuse key block %d outside 4..9", ErrFormat, block)
	}
	cfg := make([]byte, SecCfgLen)
	cfg[0] = block
	return []Entry{{Type: TypePrivKey, Flags: FlagECDSAPeripheral, Data: []byte{}}, {Type: TypeSecCfg, Data: cfg}}, nil
}

// DerivedKeyEntries say the key is derived on the chip (PBKDF2-HMAC-SHA256
// keyed by the HMAC eFuse key, 2,048 iterations) from salt.
func DerivedKeyEntries(salt []byte) ([]Entry, error) {
	if len(salt) != 32 {
		return nil, fmt.Errorf("%w: hmac key salt is %d bytes, want 32", ErrFormat, len(salt))
	}
	return []Entry{{Type: TypePrivKey, Flags: FlagHMACDerived, Data: []byte{}}, {Type: TypeHMACKeySalt, Data: salt}}, nil
}

// DerivedKeyIterations is the PBKDF2 iteration count of a derived key.
const DerivedKeyIterations = 2048

package runner

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
)

type dacInfo struct {
	spki   [32]byte
	serial string
}

func parseDAC(der []byte) (dacInfo, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return dacInfo{}, err
	}
	return dacInfo{spki: sha256.Sum256(c.RawSubjectPublicKeyInfo), serial: strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))}, nil
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

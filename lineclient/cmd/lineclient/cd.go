package main

import (
	"crypto/x509"

	"github.com/dacline/dacline/shared/lineproto"
)

// cdChecker returns the commissioner's CD check for the runner.
// TODO(station): matter.ParseCD + matter.CheckCD once shared/matter has them.
func cdChecker(cd []byte) func(dac, pai, paa *x509.Certificate) error { return nil }

func runnerClientOptions(baud int) lineproto.ClientOptions {
	return lineproto.ClientOptions{Baud: baud}
}

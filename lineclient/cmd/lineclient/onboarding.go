package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/onboarding"
)

const passcodeFlagNote = "The passcode is a flag value, so it shows in the process list and shell history.\n" +
	"That is fine for this development and inspection tool — the passcode is printed on the\n" +
	"device label anyway — but production provisioning draws passcodes inside lineclient\n" +
	"and never takes them on a command line."

func onboardingCommand() *cli.Command {
	return &cli.Command{
		Name:  "onboarding",
		Usage: "encode, decode and check Matter onboarding payloads (QR code, manual code, SPAKE2+ verifier)",
		Subcommands: []*cli.Command{
			onboardingEncodeCommand(),
			onboardingDecodeCommand(),
			onboardingVerifierCommand(),
		},
	}
}

func onboardingEncodeCommand() *cli.Command {
	return &cli.Command{
		Name:      "encode",
		Usage:     "print the QR code payload and manual pairing code for a device",
		UsageText: "lineclient onboarding encode --vid FFF1 --pid 8000 --discriminator 3840 --passcode 20202021 [--flow std] [--discovery ble] [--json]",
		Description: "Vendor and product IDs are hexadecimal, with or without 0x (FFF1, 0xFFF1),\n" +
			"as Matter certificates and the DCL write them; decimal is not accepted.\n" +
			"Discriminator and passcode are decimal; either may be \"random\" to draw one from\n" +
			"crypto/rand. The manual code has 11 digits for the standard flow and 21 (with\n" +
			"vendor and product IDs) otherwise.\n\n" + passcodeFlagNote,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "vid", Usage: "vendor ID, hexadecimal (FFF1 or 0xFFF1)"},
			&cli.StringFlag{Name: "pid", Usage: "product ID, hexadecimal (8000 or 0x8000)"},
			&cli.StringFlag{Name: "discriminator", Usage: "12-bit discriminator, decimal 0..4095, or \"random\""},
			&cli.StringFlag{Name: "passcode", Usage: "setup passcode, decimal 1..99999998 (not a trivial one), or \"random\" (see below)"},
			&cli.StringFlag{Name: "flow", Value: "std", Usage: "commissioning flow: std, user-intent or custom"},
			&cli.StringFlag{Name: "discovery", Value: "ble", Usage: "comma-separated discovery capabilities: softap, ble, onnetwork, wifipaf, nfc, thread"},
			clirun.JSONFlag,
		},
		Action: onboardingEncode,
	}
}

func onboardingEncode(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	for _, name := range []string{"vid", "pid", "discriminator", "passcode"} {
		if !c.IsSet(name) {
			return clirun.Usage("onboarding encode needs --%s", name)
		}
	}
	var p onboarding.Payload
	var err error
	if p.VID, err = parseHex16("vid", c.String("vid")); err != nil {
		return err
	}
	if p.PID, err = parseHex16("pid", c.String("pid")); err != nil {
		return err
	}
	if p.Flow, err = onboarding.ParseFlow(c.String("flow")); err != nil {
		return clirun.Usage("--flow: %v", err)
	}
	if p.Discovery, err = onboarding.ParseDiscovery(c.String("discovery")); err != nil {
		return clirun.Usage("--discovery: %v", err)
	}
	if p.Discovery == 0 {
		return clirun.Usage("--discovery: name at least one capability (a label without one cannot be commissioned)")
	}
	if p.Discriminator, err = parseDiscriminator(c.String("discriminator")); err != nil {
		return err
	}
	if p.Passcode, err = parsePasscode(c.String("passcode")); err != nil {
		return err
	}

	qr, err := onboarding.EncodeQR(p)
	if err != nil {
		return clirun.WithHint(err, "see 'lineclient onboarding encode --help' for the valid ranges")
	}
	manual, err := onboarding.EncodeManual(p)
	if err != nil {
		return err
	}
	out := struct {
		QR              string   `json:"qr"`
		Manual          string   `json:"manual"`
		ManualFormatted string   `json:"manual_formatted"`
		VID             string   `json:"vid"`
		PID             string   `json:"pid"`
		Flow            string   `json:"flow"`
		Discovery       []string `json:"discovery"`
		Discriminator   uint16   `json:"discriminator"`
		Passcode        uint32   `json:"passcode"`
	}{qr, manual, onboarding.FormatManual(manual), fmt.Sprintf("%04X", p.VID), fmt.Sprintf("%04X", p.PID),
		p.Flow.String(), discoveryList(p.Discovery), p.Discriminator, p.Passcode}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, out)
	}
	w := clirun.Stdout
	fmt.Fprintf(w, "QR code:       %s\n", qr)
	fmt.Fprintf(w, "Manual code:   %s (%s)\n", manual, onboarding.FormatManual(manual))
	fmt.Fprintf(w, "Vendor ID:     0x%04X\n", p.VID)
	fmt.Fprintf(w, "Product ID:    0x%04X\n", p.PID)
	fmt.Fprintf(w, "Flow:          %s\n", p.Flow)
	fmt.Fprintf(w, "Discovery:     %s\n", p.Discovery)
	fmt.Fprintf(w, "Discriminator: %d\n", p.Discriminator)
	fmt.Fprintf(w, "Passcode:      %08d\n", p.Passcode)
	return nil
}

func onboardingDecodeCommand() *cli.Command {
	return &cli.Command{
		Name:      "decode",
		Usage:     "decode a QR code payload (MT:…) or a manual pairing code",
		ArgsUsage: "CODE",
		Description: "CODE is either a QR code payload starting with MT: (several payloads joined\n" +
			"with * are listed one by one) or an 11- or 21-digit manual pairing code (dashes\n" +
			"and spaces are ignored). An invalid code exits 1 with the reason.",
		Flags:  []cli.Flag{clirun.JSONFlag},
		Action: onboardingDecode,
	}
}

type decodedOptional struct {
	Tag   string `json:"tag"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type decodedPayload struct {
	Version       uint8             `json:"version"`
	VID           string            `json:"vid"`
	PID           string            `json:"pid"`
	Flow          string            `json:"flow"`
	Discovery     []string          `json:"discovery"`
	Discriminator uint16            `json:"discriminator"`
	Passcode      uint32            `json:"passcode"`
	Manual        string            `json:"manual"`
	Optional      []decodedOptional `json:"optional,omitempty"`
}

type decodedManual struct {
	Digits             int    `json:"digits"`
	ShortDiscriminator uint8  `json:"short_discriminator"`
	Passcode           uint32 `json:"passcode"`
	VID                string `json:"vid,omitempty"`
	PID                string `json:"pid,omitempty"`
	Flow               string `json:"flow"`
}

func onboardingDecode(c *cli.Context) error {
	// "decode CODE --json" works through clirun.Interspersed.
	if err := clirun.Args(c, "CODE"); err != nil {
		return err
	}
	asJSON := c.Bool("json")
	code, err := onboarding.Decode(c.Args().First())
	if err != nil {
		return err
	}
	w := clirun.Stdout
	if code.Manual != nil {
		m := *code.Manual
		out := decodedManual{Digits: 11, ShortDiscriminator: m.ShortDiscriminator, Passcode: m.Passcode, Flow: "std"}
		if m.VIDPIDPresent {
			out.Digits, out.VID, out.PID, out.Flow = 21, fmt.Sprintf("%04X", m.VID), fmt.Sprintf("%04X", m.PID), "user-intent or custom"
		}
		if asJSON {
			return clirun.PrintJSON(w, struct {
				Kind   string        `json:"kind"`
				Manual decodedManual `json:"manual"`
			}{"manual", out})
		}
		fmt.Fprintf(w, "Manual pairing code (%d digits)\n", out.Digits)
		fmt.Fprintf(w, "Short discriminator: %d (discriminator %d..%d)\n", m.ShortDiscriminator,
			uint16(m.ShortDiscriminator)<<8, uint16(m.ShortDiscriminator)<<8|0xFF)
		fmt.Fprintf(w, "Passcode:            %08d\n", m.Passcode)
		fmt.Fprintf(w, "Flow:                %s\n", out.Flow)
		if m.VIDPIDPresent {
			fmt.Fprintf(w, "Vendor ID:           0x%04X\n", m.VID)
			fmt.Fprintf(w, "Product ID:          0x%04X\n", m.PID)
		}
		return nil
	}

	var outs []decodedPayload
	for _, p := range code.QR {
		manual := manualOrEmpty(p)
		d := decodedPayload{Version: p.Version, VID: fmt.Sprintf("%04X", p.VID), PID: fmt.Sprintf("%04X", p.PID),
			Flow: p.Flow.String(), Discovery: discoveryList(p.Discovery), Discriminator: p.Discriminator,
			Passcode: p.Passcode, Manual: manual}
		for _, o := range p.Optional {
			d.Optional = append(d.Optional, decodedOptional{Tag: fmt.Sprintf("0x%02X", o.Tag), Name: optionalName(o),
				Type: o.Type.String(), Value: jsonValue(o)})
		}
		outs = append(outs, d)
	}
	if asJSON {
		return clirun.PrintJSON(w, struct {
			Kind     string           `json:"kind"`
			Payloads []decodedPayload `json:"payloads"`
		}{"qr", outs})
	}
	for i, d := range outs {
		if len(outs) > 1 {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "QR code payload %d of %d\n", i+1, len(outs))
		} else {
			fmt.Fprintln(w, "QR code payload")
		}
		printPayload(w, d)
	}
	return nil
}

func printPayload(w io.Writer, d decodedPayload) {
	fmt.Fprintf(w, "Version:       %d\n", d.Version)
	fmt.Fprintf(w, "Vendor ID:     0x%s\n", d.VID)
	fmt.Fprintf(w, "Product ID:    0x%s\n", d.PID)
	fmt.Fprintf(w, "Flow:          %s\n", d.Flow)
	fmt.Fprintf(w, "Discovery:     %s\n", strings.Join(append([]string{}, d.Discovery...), ","))
	fmt.Fprintf(w, "Discriminator: %d\n", d.Discriminator)
	fmt.Fprintf(w, "Passcode:      %08d\n", d.Passcode)
	fmt.Fprintf(w, "Manual code:   %s\n", d.Manual)
	for _, o := range d.Optional {
		fmt.Fprintf(w, "Optional %s: %s (%s) = %v\n", o.Tag, o.Name, o.Type, o.Value)
	}
}

// manualOrEmpty returns the manual code of a decoded payload; a decoded payload is
// valid, so the only way this fails is a library bug, shown rather than hidden.
func manualOrEmpty(p onboarding.Payload) string {
	m, err := onboarding.EncodeManual(p)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return m
}

func optionalName(o onboarding.OptionalData) string {
	switch o.Tag {
	case onboarding.TagSerialNumber:
		return "serial number"
	case onboarding.TagPBKDFIterations:
		return "PBKDF iterations"
	case onboarding.TagPBKDFSalt:
		return "PBKDF salt"
	case onboarding.TagNumberOfDevices:
		return "number of devices"
	case onboarding.TagCommissioningTimeout:
		return "commissioning timeout (s)"
	}
	if o.IsVendor() {
		return "vendor"
	}
	return "reserved"
}

// jsonValue renders octet strings in base64 (as the verifier and salt are written
// elsewhere) and everything else as itself.
func jsonValue(o onboarding.OptionalData) any {
	if o.Type == onboarding.TypeBytes {
		return base64.StdEncoding.EncodeToString(o.Bytes)
	}
	return o.Value()
}

func onboardingVerifierCommand() *cli.Command {
	return &cli.Command{
		Name:      "verifier",
		Usage:     "print the base64 SPAKE2+ verifier (w0 ‖ L, 97 bytes) for a passcode",
		UsageText: "lineclient onboarding verifier --passcode 20202021 --salt U1BBS0UyUCBLZXkgU2FsdA== --iterations 1000 [--json]",
		Description: "Derives the verifier a device stores instead of its passcode, as the Matter\n" +
			"SDK's spake2p tool does: PBKDF2-HMAC-SHA256 over the passcode, salt of 16..32\n" +
			"bytes, 1000..100000 iterations.\n\n" + passcodeFlagNote,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "passcode", Usage: "setup passcode, decimal (see below)"},
			&cli.StringFlag{Name: "salt", Usage: "PBKDF salt, standard base64 of 16..32 bytes"},
			&cli.StringFlag{Name: "iterations", Usage: "PBKDF iteration count, 1000..100000"},
			clirun.JSONFlag,
		},
		Action: onboardingVerifier,
	}
}

func onboardingVerifier(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	for _, name := range []string{"passcode", "salt", "iterations"} {
		if !c.IsSet(name) {
			return clirun.Usage("onboarding verifier needs --%s", name)
		}
	}
	passcode, err := parseUint("passcode", c.String("passcode"), 32)
	if err != nil {
		return err
	}
	salt, err := base64.StdEncoding.DecodeString(c.String("salt"))
	if err != nil {
		return clirun.Usage("--salt: not standard base64: %v", err)
	}
	iterations, err := parseUint("iterations", c.String("iterations"), 31)
	if err != nil {
		return err
	}
	v, err := onboarding.Verifier(uint32(passcode), salt, int(iterations))
	if err != nil {
		switch {
		case errors.Is(err, onboarding.ErrInvalidSalt):
			return clirun.WithHint(err, "generate one with: head -c 32 /dev/urandom | base64")
		case errors.Is(err, onboarding.ErrInvalidIterations):
			return clirun.WithHint(err, "the Matter SDK and esp-matter-mfg-tool default to 10000")
		}
		return err
	}
	b64 := base64.StdEncoding.EncodeToString(v)
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, struct {
			Verifier   string `json:"verifier"`
			Salt       string `json:"salt"`
			Iterations uint64 `json:"iterations"`
		}{b64, base64.StdEncoding.EncodeToString(salt), iterations})
	}
	fmt.Fprintln(clirun.Stdout, b64)
	return nil
}

// parseHex16 reads a vendor or product ID: hexadecimal, optional 0x, 1..4 digits.
func parseHex16(name, s string) (uint16, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if h == "" || len(h) > 4 {
		return 0, clirun.Usage("--%s: %q is not a 16-bit hexadecimal ID (like FFF1 or 0xFFF1)", name, s)
	}
	v, err := strconv.ParseUint(h, 16, 16)
	if err != nil {
		return 0, clirun.Usage("--%s: %q is not a 16-bit hexadecimal ID (like FFF1 or 0xFFF1)", name, s)
	}
	return uint16(v), nil
}

func parseUint(name, s string, bits int) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, clirun.Usage("--%s: %q is not a decimal number", name, s)
	}
	return v, nil
}

func parseDiscriminator(s string) (uint16, error) {
	if s == "random" {
		return onboarding.NewDiscriminator()
	}
	v, err := parseUint("discriminator", s, 16)
	return uint16(v), err
}

func parsePasscode(s string) (uint32, error) {
	if s == "random" {
		return onboarding.NewPasscode()
	}
	v, err := parseUint("passcode", s, 32)
	return uint32(v), err
}

// discoveryList names the capabilities for JSON; no capability is an empty list.
func discoveryList(d onboarding.Discovery) []string {
	if d == 0 {
		return []string{}
	}
	return strings.Split(d.String(), ",")
}

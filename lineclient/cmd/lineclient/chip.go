package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/esp/espimage"
	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/shared/clirun"
)

// romPortFlag is the jig port of the ROM-loader commands. (Not Required:
// urfave/cli would then demand it of 'flash' before running 'flash read';
// romPort checks it.)
func romPortFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "port", Usage: "serial port of the jig whose module is in download mode (required)"}
}

func romPort(c *cli.Context) (string, error) {
	p := c.String("port")
	if p == "" {
		return "", clirun.Usage("%s needs --port", c.Command.FullName())
	}
	return p, nil
}

func chipCommand() *cli.Command {
	return &cli.Command{
		Name:  "chip",
		Usage: "ask a module's ROM loader what chip it is",
		Subcommands: []*cli.Command{{
			Name:  "info",
			Usage: "chip type, MAC, flash size and security info (like esptool chip_id + get_security_info)",
			Description: "Talks to the chip's serial ROM loader (the module must be in download mode).\n" +
				"Nothing is written. In secure download mode the MAC cannot be read.",
			Flags: []cli.Flag{romPortFlag(), clirun.JSONFlag},
			Action: func(c *cli.Context) error {
				if err := clirun.Args(c); err != nil {
					return err
				}
				path, err := romPort(c)
				if err != nil {
					return err
				}
				cl, port, err := romloader.Dial(path, 10)
				if err != nil {
					return clirun.WithHint(err, "put the module in download mode (hold BOOT while resetting), or start 'lineclient sim --download'")
				}
				defer port.Close()
				info := readChipInfo(cl)
				if c.Bool("json") {
					return clirun.PrintJSON(clirun.Stdout, info)
				}
				printChipInfo(info)
				return nil
			},
		}, chipLockCheckCommand()},
	}
}

// chipInfo is what `chip info` reports.
type chipInfo struct {
	Chip            string   `json:"chip"`
	ChipID          uint16   `json:"chip_id"`
	MAC             string   `json:"mac,omitempty"`
	FlashSize       string   `json:"flash_size"`
	FlashSizeSource string   `json:"flash_size_source"`
	Loader          string   `json:"loader"`
	SecureDownload  bool     `json:"secure_download"`
	Security        *secInfo `json:"security,omitempty"`
}

type secInfo struct {
	Flags           string   `json:"flags"`
	FlagNames       []string `json:"flag_names"`
	FlashCryptCnt   uint8    `json:"flash_crypt_cnt"`
	FlashEncryption bool     `json:"flash_encryption"`
	SecureBoot      bool     `json:"secure_boot"`
	JTAGDisabled    bool     `json:"jtag_disabled"`
	KeyPurposes     []uint8  `json:"key_purposes"`
}

var flashSizes = map[byte]string{0: "1MB", 1: "2MB", 2: "4MB", 3: "8MB", 4: "16MB", 5: "32MB", 6: "64MB", 7: "128MB"}

func readChipInfo(cl *romloader.Client) chipInfo {
	info := chipInfo{Chip: cl.Chip.Name, ChipID: cl.Chip.ImageID, Loader: "rom", SecureDownload: cl.SecureDownload,
		FlashSize: "unknown", FlashSizeSource: "no readable bootloader image"}
	if cl.Stub {
		info.Loader = "stub"
	}
	if mac, err := cl.ReadMAC(); err == nil {
		info.MAC = strings.ToLower(hex.EncodeToString(mac[:]))
	}
	if cl.Chip.HasSecurityInfo {
		if si, err := cl.GetSecurityInfo(); err == nil {
			info.Security = &secInfo{Flags: fmt.Sprintf("0x%08x", si.Flags), FlagNames: si.FlagNames(), FlashCryptCnt: si.FlashCryptCnt,
				FlashEncryption: si.FlashEncryption(), SecureBoot: si.SecureBoot(), JTAGDisabled: si.JTAGDisabled(), KeyPurposes: si.KeyPurposes[:]}
			if info.Security.FlagNames == nil {
				info.Security.FlagNames = []string{}
			}
		}
	}
	// The ROM does not report the flash size; the bootloader's image header
	// says what it was built for (esptool reads the SPI flash ID instead).
	if !cl.SecureDownload {
		if hdr, err := cl.ReadFlash(cl.Chip.BootloaderOffset, 24, nil); err == nil && hdr[0] == espimage.ImageMagic {
			if s, ok := flashSizes[hdr[3]>>4]; ok {
				info.FlashSize, info.FlashSizeSource = s, "bootloader image header"
			}
		}
	}
	return info
}

func printChipInfo(in chipInfo) {
	w := clirun.Stdout
	fmt.Fprintf(w, "chip:        %s (chip ID %d), %s loader\n", in.Chip, in.ChipID, in.Loader)
	mac := in.MAC
	if mac == "" {
		mac = "(not readable in secure download mode)"
	}
	fmt.Fprintf(w, "mac:         %s\n", mac)
	fmt.Fprintf(w, "flash size:  %s (%s)\n", in.FlashSize, in.FlashSizeSource)
	fmt.Fprintf(w, "secure download mode: %v\n", in.SecureDownload)
	if in.Security == nil {
		fmt.Fprintln(w, "security:    (this chip's ROM has no GET_SECURITY_INFO)")
		return
	}
	s := in.Security
	fmt.Fprintf(w, "security:    flags %s %s\n", s.Flags, strings.Join(s.FlagNames, " "))
	fmt.Fprintf(w, "  flash encryption: %v (SPI_BOOT_CRYPT_CNT %d)\n", s.FlashEncryption, s.FlashCryptCnt)
	fmt.Fprintf(w, "  secure boot:      %v\n", s.SecureBoot)
	fmt.Fprintf(w, "  jtag disabled:    %v\n", s.JTAGDisabled)
	fmt.Fprintf(w, "  key purposes:     %v\n", s.KeyPurposes)
}

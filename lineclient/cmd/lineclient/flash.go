package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/esp/espimage"
	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/shared/clirun"
)

func flashCommand() *cli.Command {
	return &cli.Command{
		Name:      "flash",
		Usage:     "write signed images through the chip's ROM loader (like esptool write_flash)",
		ArgsUsage: "OFFSET FILE [OFFSET FILE...]",
		Description: "Connects to the module's ROM loader, detects the chip and checks every file before\n" +
			"writing any: ESP images (bootloader, apps) must be for the chip on the jig and carry\n" +
			"Secure Boot V2 signatures by a key whose digest is given with --key-digest; a partition\n" +
			"table must keep esp_secure_cert (0xD000) and fctry (0x3E0000) where they are; nothing\n" +
			"may overlap those two. With --verify every region is read back by MD5 (retried whole\n" +
			"up to 3 times). See docs/esp32-flashing.md.",
		Flags: []cli.Flag{
			romPortFlag(),
			&cli.IntFlag{Name: "baud", Value: 115200, Usage: "line rate to switch to after connecting (e.g. 921600)"},
			&cli.BoolFlag{Name: "verify", Usage: "read every region back by MD5 (not in secure download mode)"},
			&cli.StringSliceFlag{Name: "key-digest", Usage: "Secure Boot V2 key digest allowed to sign the images: 64 hex digits or a 32-byte digest file (repeatable)"},
			&cli.BoolFlag{Name: "no-compress", Usage: "send plain FLASH_DATA instead of compressed blocks (always so in secure download mode)"},
		},
		Action:      flashWrite,
		Subcommands: []*cli.Command{flashReadCommand(), flashModuleCommand()},
	}
}

func parseOffset(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("offset %q: want a number such as 0x10000", s)
	}
	return uint32(v), nil
}

func keyDigests(c *cli.Context) ([]espimage.KeyDigest, error) {
	var out []espimage.KeyDigest
	for _, v := range c.StringSlice("key-digest") {
		raw := []byte(v)
		if len(v) != 64 {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, clirun.Usage("--key-digest %q: neither 64 hex digits nor a readable file", v)
			}
			raw = b
		}
		d, err := espimage.ParseKeyDigest(raw)
		if err != nil {
			return nil, clirun.Usage("--key-digest: %v", err)
		}
		out = append(out, d)
	}
	return out, nil
}

func flashWrite(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 || len(args)%2 != 0 {
		return clirun.Usage("flash needs OFFSET FILE pairs (got %d argument(s))", len(args))
	}
	path, err := romPort(c)
	if err != nil {
		return err
	}
	digests, err := keyDigests(c)
	if err != nil {
		return err
	}
	var ws []espimage.Write
	for i := 0; i < len(args); i += 2 {
		off, err := parseOffset(args[i])
		if err != nil {
			return clirun.Usage("%v", err)
		}
		data, err := os.ReadFile(args[i+1])
		if err != nil {
			return fmt.Errorf("read image: %w", err)
		}
		ws = append(ws, espimage.Write{Name: filepath.Base(args[i+1]), Offset: off, Data: data})
	}
	cl, port, err := romloader.Dial(path, 10)
	if err != nil {
		return clirun.WithHint(err, "put the module in download mode (hold BOOT while resetting), or start 'lineclient sim --download'")
	}
	defer port.Close()
	if b := c.Int("baud"); b != 115200 {
		if err := cl.ChangeBaud(b); err != nil {
			return err
		}
	}
	opts := romloader.FlashOptions{Verify: c.Bool("verify"), Compress: !c.Bool("no-compress") && !cl.SecureDownload}
	done, err := cl.FlashImages(ws, espimage.Policy{KeyDigests: digests}, opts)
	for _, f := range done {
		v := "written"
		if f.Verified {
			v = "verified"
		}
		fmt.Fprintf(clirun.Stdout, "%s: 0x%06x %-15s %7d bytes  md5 %x  sha256 %x  %s\n", f.Name, f.Offset, f.Kind, len(f.Data), f.MD5, f.SHA256, v)
	}
	if err != nil {
		switch {
		case errors.Is(err, espimage.ErrKeyNotAllowed) || errors.Is(err, espimage.ErrUnsigned):
			return clirun.WithHint(err, "images must be signed (Secure Boot V2) by a key whose digest the product configures: pass it with --key-digest")
		case errors.Is(err, espimage.ErrWrongChip):
			return clirun.WithHint(err, "use the build for %s", cl.Chip.Name)
		case errors.Is(err, espimage.ErrOverlap) || errors.Is(err, espimage.ErrPartitionTable):
			return clirun.WithHint(err, "esp_secure_cert (0xD000+0x2000) and fctry (0x3E0000+0x6000) hold the module's credentials and are never written by flashing")
		case errors.Is(err, romloader.ErrRefused):
			return err
		}
		return clirun.WithHint(err, "nothing is recorded as flashed; run the same command again (the regions are rewritten whole)")
	}
	return nil
}

func flashReadCommand() *cli.Command {
	return &cli.Command{
		Name:      "read",
		Usage:     "read flash back through the ROM loader into a file",
		ArgsUsage: "OFFSET SIZE",
		Description: "Reads SIZE bytes at OFFSET (64 bytes a command: slow; not in secure download mode).\n" +
			"esp_secure_cert (0xD000+0x2000) is never read: it holds the module's key.",
		Flags: []cli.Flag{romPortFlag(), &cli.StringFlag{Name: "out", Usage: "file to write (created 0600)", Required: true}},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c, "OFFSET", "SIZE"); err != nil {
				return err
			}
			off, err := parseOffset(c.Args().Get(0))
			if err != nil {
				return clirun.Usage("%v", err)
			}
			size, err := parseOffset(c.Args().Get(1))
			if err != nil || size == 0 {
				return clirun.Usage("size %q: want a positive number", c.Args().Get(1))
			}
			if uint64(off)+uint64(size) > romloader.FlashSize {
				return clirun.Usage("0x%x+0x%x runs past the 4 MiB flash", off, size)
			}
			for _, p := range espimage.CredentialPartitions() {
				if p.Type == espimage.PartTypeSecureCert && off < p.End() && p.Offset < off+size {
					return clirun.WithHint(fmt.Errorf("refused: 0x%x+0x%x overlaps %s (0x%x..0x%x), which holds the module's private key", off, size, p.Label, p.Offset, p.End()),
						"read around it: the DAC and PAI are in the station's records")
				}
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
			data, err := cl.ReadFlash(off, size, nil)
			if err != nil {
				return err
			}
			if err := writeFileAtomic(c.String("out"), data, 0o600); err != nil {
				return fmt.Errorf("write %s: %w", c.String("out"), err)
			}
			return nil
		},
	}
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/lineclient/esp/partition"
	"github.com/dacline/dacline/shared/clirun"
)

func espCommand() *cli.Command {
	return &cli.Command{
		Name:  "esp",
		Usage: "ESP32 flash formats: build NVS partitions and partition tables as Espressif's tools do",
		Subcommands: []*cli.Command{
			espNVSCommand(),
			espPartitionCommand(),
		},
	}
}

func espNVSCommand() *cli.Command {
	return &cli.Command{
		Name:      "nvs",
		Usage:     "build an NVS partition from the CSV of Espressif's nvs_partition_gen.py",
		UsageText: "lineclient esp nvs CSV --size 0x6000 --out nvs.bin",
		Description: "Reads the generator's CSV (key,type,encoding,value; types namespace, data,\n" +
			"file; encodings u8 i8 u16 i16 u32 i32 u64 i64 string hex2bin base64 binary) and\n" +
			"writes the partition byte for byte as `nvs_partition_gen.py generate CSV OUT SIZE`\n" +
			"does (NVS version 2, unencrypted). File rows name paths relative to the CSV's\n" +
			"directory. An existing mfg-tool CSV (namespace chip-factory) works as it is.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "size", Usage: "partition size in bytes, a multiple of 0x1000, at least 0x3000 (e.g. 0x6000)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "file to write the partition to", Required: true},
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c, "CSV"); err != nil {
				return err
			}
			size, err := strconv.ParseUint(c.String("size"), 0, 31)
			if err != nil {
				return clirun.Usage("--size %q: want a number of bytes, e.g. 0x6000", c.String("size"))
			}
			path := c.Args().First()
			text, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rows, err := nvs.ReadCSV(bytes.NewReader(text))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			w, err := nvs.NewWriter(int(size))
			if err != nil {
				return clirun.Usage("--size: %v", err)
			}
			dir := filepath.Dir(path)
			readFile := func(p string) ([]byte, error) {
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				return os.ReadFile(p)
			}
			if err := nvs.WriteRows(w, rows, readFile); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			out, err := w.Bytes()
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			p, err := nvs.Parse(out)
			if err != nil {
				return fmt.Errorf("written partition does not read back: %w", err)
			}
			if err := writeFileAtomic(c.String("out"), out, 0o644); err != nil {
				return err
			}
			used := 0
			for _, pg := range p.Pages {
				if pg.State != "empty" {
					used++
				}
			}
			var names []string
			for name := range p.Namespaces {
				names = append(names, name)
			}
			sort.Strings(names)
			fmt.Fprintf(clirun.Stdout, "wrote %s: 0x%x bytes, %d entries in %d namespace(s) (%s), %d of %d pages used\n",
				c.String("out"), len(out), len(p.Entries), len(names), strings.Join(names, ", "), used, len(p.Pages))
			return nil
		},
	}
}

func espPartitionCommand() *cli.Command {
	return &cli.Command{
		Name:      "partition",
		Usage:     "check a partition table (CSV or binary), print it, and write its binary form",
		UsageText: "lineclient esp partition FILE [--offset 0x8000] [--out table.bin]",
		Description: "FILE is a partition CSV or a binary table (as read back from flash at 0x8000).\n" +
			"Prints the table as CSV after gen_esp32part.py's checks (overlaps, alignment,\n" +
			"MD5); --out writes the 0xC00-byte binary gen_esp32part.py would write.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "offset", Value: "0x8000", Usage: "flash offset of the table (partitions start after its sector)"},
			&cli.StringFlag{Name: "out", Usage: "write the binary table to this file"},
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c, "FILE"); err != nil {
				return err
			}
			off, err := strconv.ParseUint(c.String("offset"), 0, 32)
			if err != nil {
				return clirun.Usage("--offset %q: want a flash offset, e.g. 0x8000", c.String("offset"))
			}
			path := c.Args().First()
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var tab *partition.Table
			if bytes.HasPrefix(b, []byte{0xAA, 0x50}) {
				if tab, err = partition.ParseBinary(b); err == nil {
					err = tab.Verify(uint32(off))
				}
			} else {
				tab, err = partition.ParseCSV(string(b), uint32(off))
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			fmt.Fprint(clirun.Stdout, tab.CSV())
			if out := c.String("out"); out != "" {
				bin, err := tab.MarshalBinary()
				if err != nil {
					return err
				}
				if err := writeFileAtomic(out, bin, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(clirun.Stdout, "wrote %s: 0x%x bytes (flash it at 0x%x)\n", out, len(bin), off)
			}
			return nil
		},
	}
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place: nothing half-written is left under path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

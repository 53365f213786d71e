package applog

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/shared/auditlog"
)

// ExportBundle exports the log as a signed-only log-export bundle in dir
// (airgap-bundles/FORMAT.md, kind log-export): the export files are the
// bundle's payload, the manifest is signed by the appliance key under name
// (the appliance name, which is also the log origin). The bundle is written
// atomically, read back and verified before the export is recorded.
// tmpDir holds the spool ("" = os.TempDir()).
func (l *Log) ExportBundle(dir, name string, signer crypto.Signer, tmpDir string) (path string, res *ExportResult, err error) {
	ns, err := auditlog.NoteSigner(name, signer)
	if err != nil {
		return "", nil, err
	}
	bs, err := bundle.NewNoteSigner(name, signer)
	if err != nil {
		return "", nil, err
	}
	res, err = l.Export(ns, func(e auditlog.Export) error {
		b, err := bundle.NewBuilder(bundle.Header{Kind: bundle.KindLogExport, Sender: name,
			Counts: map[string]int64{"entries": e.Info.TreeSize, "checkpoints": int64(len(e.Checkpoints))}}, tmpDir)
		if err != nil {
			return err
		}
		defer b.Close()
		err = e.WriteFiles(func(file string, write func(io.Writer) error) error {
			fw, err := b.Create(file)
			if err != nil {
				return err
			}
			if err := write(fw); err != nil {
				fw.Close()
				return err
			}
			return fw.Close()
		})
		if err != nil {
			return err
		}
		path, _, err = b.WriteToDir(dir, bundle.WriteOptions{Signer: bs, Verify: &bundle.ReadOptions{
			Resolve: resolver(name, bs.Public()), Kinds: []bundle.Kind{bundle.KindLogExport}, TempDir: tmpDir, Limits: bundle.LogExportLimits,
		}})
		return err
	})
	return path, res, err
}

func resolver(name string, pub ed25519.PublicKey) bundle.KeyResolver {
	return func(sender string, kind bundle.Kind) (ed25519.PublicKey, error) {
		if sender != name {
			return nil, fmt.Errorf("log export signed by %q, expected the appliance %q", sender, name)
		}
		return pub, nil
	}
}

// OpenExport opens a log export for the auditor from path, which is one of:
// an export directory (export.json inside), a log-export bundle file, or a
// directory holding exactly one log-export bundle. A bundle's signature is
// verified with the appliance key (name, pub) before anything in it is read.
// Call close when done.
func OpenExport(path, name string, pub ed25519.PublicKey, tmpDir string) (x *auditlog.ExportDir, close func() error, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("log export: %w", err)
	}
	nop := func() error { return nil }
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(path, auditlog.ExportInfoFile)); err == nil {
			x, err := auditlog.OpenExport(path)
			return x, nop, err
		}
		matches, _ := filepath.Glob(filepath.Join(path, string(bundle.KindLogExport)+"-*"))
		var bundles []string
		for _, m := range matches {
			if strings.HasSuffix(m, ".tar") || strings.HasSuffix(m, ".age") {
				bundles = append(bundles, m)
			}
		}
		switch len(bundles) {
		case 0:
			return nil, nil, fmt.Errorf("log export: %s holds neither %s nor a log-export bundle", path, auditlog.ExportInfoFile)
		case 1:
			path = bundles[0]
		default:
			return nil, nil, fmt.Errorf("log export: %s holds %d log-export bundles; name one", path, len(bundles))
		}
	}
	b, err := bundle.ReadFile(path, bundle.ReadOptions{Resolve: resolver(name, pub),
		Kinds: []bundle.Kind{bundle.KindLogExport}, TempDir: tmpDir, Limits: bundle.LogExportLimits})
	if err != nil {
		return nil, nil, fmt.Errorf("log export %s: %w", path, err)
	}
	var names []string
	for _, f := range b.Manifest.Files {
		names = append(names, f.Name)
	}
	x, err = auditlog.OpenExportFiles(filepath.Base(path), names, func(n string) (io.ReadCloser, error) {
		sr, err := b.Open(n)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(sr), nil
	})
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return x, b.Close, nil
}

// ErrNoKey: the auditor gave no appliance identity to verify with.
var ErrNoKey = errors.New("no appliance key")

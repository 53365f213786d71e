package bundle

// Limits caps what a hostile bundle can cost the reader. The zero value of a field
// means the default from DefaultLimits.
type Limits struct {
	MaxBundleSize    int64 // bytes of the bundle file as found on the stick
	MaxAgeHeader     int   // bytes of the age header, up to and including the MAC line
	MaxStanzas       int   // recipient stanzas in the age header
	MaxManifestSize  int64 // bytes of manifest.json
	MaxSignatureSize int64 // bytes of manifest.sig
	MaxFiles         int   // payload files
	MaxFileSize      int64 // bytes of one payload file
	MaxTotalSize     int64 // bytes of all payload files together
	MaxLines         int64 // lines of one .jsonl payload file (and any count in the manifest)
}

// DefaultLimits fit a batch of 1,000,000 CSRs with room to spare.
var DefaultLimits = Limits{
	MaxBundleSize:    8 << 30,
	MaxAgeHeader:     8 << 10,
	MaxStanzas:       4,
	MaxManifestSize:  1 << 20,
	MaxSignatureSize: 4 << 10,
	MaxFiles:         32,
	MaxFileSize:      4 << 30,
	MaxTotalSize:     8 << 30,
	MaxLines:         5_000_000,
}

// LogExportLimits are the defaults for log-export bundles, which carry the
// appliance's whole audit log (one line per DAC issued, forever): more lines
// and bigger files than a batch, up to what a ustar entry can hold (8 GiB − 1,
// about 20 million entries). The writer validates a log-export manifest
// against them; a reader of log exports passes them in ReadOptions.Limits.
var LogExportLimits = Limits{
	MaxBundleSize: 17 << 30,
	MaxFileSize:   maxUstarSize,
	MaxTotalSize:  16 << 30,
	MaxLines:      50_000_000,
}

// KindLimits are the writer's limits for a kind: LogExportLimits for
// log-export, DefaultLimits for the others.
func KindLimits(k Kind) Limits {
	if k == KindLogExport {
		return LogExportLimits.withDefaults()
	}
	return DefaultLimits
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxBundleSize > 0 {
		d.MaxBundleSize = l.MaxBundleSize
	}
	if l.MaxAgeHeader > 0 {
		d.MaxAgeHeader = l.MaxAgeHeader
	}
	if l.MaxStanzas > 0 {
		d.MaxStanzas = l.MaxStanzas
	}
	if l.MaxManifestSize > 0 {
		d.MaxManifestSize = l.MaxManifestSize
	}
	if l.MaxSignatureSize > 0 {
		d.MaxSignatureSize = l.MaxSignatureSize
	}
	if l.MaxFiles > 0 {
		d.MaxFiles = l.MaxFiles
	}
	if l.MaxFileSize > 0 {
		d.MaxFileSize = l.MaxFileSize
	}
	if l.MaxTotalSize > 0 {
		d.MaxTotalSize = l.MaxTotalSize
	}
	if l.MaxLines > 0 {
		d.MaxLines = l.MaxLines
	}
	return d
}

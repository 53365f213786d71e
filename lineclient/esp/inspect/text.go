package inspect

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report for a person: each part, then the checks.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s, %d bytes\n", r.Kind, r.Size)
	if len(r.Partitions) > 0 {
		fmt.Fprintf(w, "\npartition table:\n")
		fmt.Fprintf(w, "  %-16s %-5s %-9s %-9s %-9s %s\n", "name", "type", "subtype", "offset", "size", "flags")
		for _, p := range r.Partitions {
			fmt.Fprintf(w, "  %-16s %-5s %-9s 0x%-7x 0x%-7x %s\n", p.Name, p.Type, p.Subtype, p.Offset, p.Size, p.Flags)
		}
	}
	if len(r.TLVs) > 0 {
		fmt.Fprintf(w, "\nesp_secure_cert at 0x%x:\n", r.SecureCertOffset)
		for _, t := range r.TLVs {
			fmt.Fprintf(w, "  0x%04x %-19s subtype %d flags 0x%02x length %4d pad %2d crc 0x%08x  %s\n",
				t.Offset, t.Type, t.Subtype, t.Flags, t.Length, t.Padding, t.CRC, t.Summary)
		}
	}
	if len(r.NVSEntries) > 0 {
		fmt.Fprintf(w, "\nnvs at 0x%x:\n", r.NVSOffset)
		for _, e := range r.NVSEntries {
			extra := ""
			if e.DataSize > 0 || e.Type == "string" || e.Type == "blob-data" {
				extra = fmt.Sprintf(" size %d", e.DataSize)
				if e.Type != "blob" {
					extra += fmt.Sprintf(" data crc 0x%08x", e.DataCRC)
				}
			}
			if e.Erased {
				extra += " (erased)"
			}
			fmt.Fprintf(w, "  page %d entry %3d ns %d %-9s span %-3d chunk %-3d %-16s crc 0x%08x%s\n",
				e.Page, e.Index, e.Namespace, e.Type, e.Span, e.Chunk, e.Key, e.CRC, extra)
		}
		fmt.Fprintf(w, "\nvalues:\n")
		for _, v := range r.Values {
			fmt.Fprintf(w, "  %s/%-16s %-6s %s\n", v.Namespace, v.Key, v.Type, v.Value)
		}
	}
	fmt.Fprintf(w, "\nchecks:\n")
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  %-4s %-26s %s\n", strings.ToUpper(c.Status), c.Name, c.Detail)
	}
	if r.OK {
		fmt.Fprintf(w, "\nresult: ok\n")
	} else {
		fmt.Fprintf(w, "\nresult: %d check(s) failed\n", len(r.Failed()))
	}
}

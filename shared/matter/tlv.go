package matter

import (
	"fmt"

	"github.com/dacline/dacline/shared/mattertlv"
)

// cdReader reads the Certification Declaration's TLV (shared/mattertlv)
// with the one check the CD decoder repeats for most of its fields.
type cdReader struct{ *mattertlv.Reader }

// expectUint reads a context-tagged unsigned integer that fits in max.
func (r cdReader) expectUint(tag mattertlv.Tag, max uint64, name string) (uint64, error) {
	e, err := r.Next()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if e.Tag != tag {
		return 0, fmt.Errorf("%s: expected %s, found %s", name, tag, e.Tag)
	}
	if !e.IsUint() {
		return 0, fmt.Errorf("%s: not an unsigned integer", name)
	}
	if e.Uint > max {
		return 0, fmt.Errorf("%s: value %d out of range (max %d)", name, e.Uint, max)
	}
	return e.Uint, nil
}

package partition

import (
	"fmt"
	"strconv"
	"strings"
)

var subtypes = func() map[uint8]map[string]uint8 {
	m := map[uint8]map[string]uint8{
		TypeApp: {"factory": 0x00, "test": 0x20},
		TypeData: {"ota": 0x00, "phy": 0x01, "nvs": 0x02, "coredump": 0x03, "nvs_keys": 0x04, "efuse": 0x05,
			"undefined": 0x06, "esphttpd": 0x80, "fat": 0x81, "spiffs": 0x82, "littlefs": 0x83},
	}
	for i := range 16 {
		m[TypeApp][fmt.Sprintf("ota_%d", i)] = 0x10 + uint8(i)
	}
	return m
}()

// ParseCSV reads a partition CSV (Name, Type, SubType, Offset, Size, Flags)
// as gen_esp32part.py does for a table at tableOffset: '#' lines are
// comments, an empty offset follows the previous partition (aligned), sizes
// take K and M suffixes. The result is verified.
func ParseCSV(text string, tableOffset uint32) (*Table, error) {
	t := &Table{}
	type placed struct {
		line      int
		hasOffset bool
	}
	var lines []placed
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "$") {
			return nil, fmt.Errorf("%w: line %d: variables ($NAME) are not expanded here", ErrTable, i+1)
		}
		f := strings.Split(line+",,,,", ",")
		for j := range f {
			f[j] = strings.TrimSpace(f[j])
		}
		at := func(format string, args ...any) error {
			return fmt.Errorf("%w: line %d (%s): %s", ErrTable, i+1, f[0], fmt.Sprintf(format, args...))
		}
		e := Entry{Name: f[0]}
		if len(e.Name) > 16 || !printable(e.Name) {
			return nil, at("name must be 1..16 printable ascii bytes")
		}
		typ, err := parseNumber(f[1], map[string]uint8{"app": TypeApp, "data": TypeData}, 0xFF)
		if err != nil {
			return nil, at("type: %v", err)
		}
		e.Type = uint8(typ)
		switch {
		case f[2] == "" && e.Type == TypeApp:
			return nil, at("an app partition needs a subtype")
		case f[2] == "":
			e.Subtype = SubtypeUndefined
		default:
			st, err := parseNumber(f[2], subtypes[e.Type], 0xFF)
			if err != nil {
				return nil, at("subtype: %v", err)
			}
			e.Subtype = uint8(st)
		}
		hasOffset := f[3] != ""
		if hasOffset {
			off, err := parseNumber(f[3], nil, 0xFFFFFFFF)
			if err != nil {
				return nil, at("offset: %v", err)
			}
			e.Offset = uint32(off)
		}
		if f[4] == "" {
			return nil, at("size can't be empty")
		}
		size, err := parseNumber(f[4], nil, 0xFFFFFFFF)
		if err != nil {
			return nil, at("size: %v", err)
		}
		e.Size = uint32(size)
		for _, flag := range strings.Split(f[5], ":") {
			switch flag {
			case "":
			case "encrypted":
				e.Flags |= FlagEncrypted
			case "readonly":
				e.Flags |= FlagReadOnly
			default:
				return nil, at("unknown flag %q", flag)
			}
		}
		t.Entries = append(t.Entries, e)
		lines = append(lines, placed{i + 1, hasOffset})
	}
	// Fill missing offsets, as gen_esp32part.py does.
	last := uint64(tableOffset) + SectorSize
	for i := range t.Entries {
		e := &t.Entries[i]
		if lines[i].hasOffset && uint64(e.Offset) < last {
			return nil, fmt.Errorf("%w: line %d (%s): offset 0x%x overlaps what ends at 0x%x", ErrTable, lines[i].line, e.Name, e.Offset, last)
		}
		if !lines[i].hasOffset {
			align := uint64(0x1000)
			if e.Type == TypeApp {
				align = 0x10000
			}
			last = (last + align - 1) / align * align
			if last > 0xFFFFFFFF {
				return nil, fmt.Errorf("%w: line %d (%s): offset past 4 GiB", ErrTable, lines[i].line, e.Name)
			}
			e.Offset = uint32(last)
		}
		last = e.End()
	}
	if err := t.Verify(tableOffset); err != nil {
		return nil, err
	}
	return t, nil
}

// parseNumber is gen_esp32part.py's parse_int: Python int(x, 0) with k/m
// suffixes (×1024, ×1024²), else a keyword.
func parseNumber(s string, keywords map[string]uint8, max uint64) (uint64, error) {
	mult := uint64(1)
	num := s
	for len(num) > 0 {
		switch c := num[len(num)-1]; c {
		case 'k', 'K':
			mult *= 1024
		case 'm', 'M':
			mult *= 1024 * 1024
		default:
			goto done
		}
		num = num[:len(num)-1]
	}
done:
	v, err := strconv.ParseUint(strings.ReplaceAll(num, "_", ""), 0, 64)
	if err == nil && num != "" && (num[0] != '0' || len(num) == 1 || strings.ContainsAny(num[1:2], "xXoObB")) {
		if v > max/mult {
			return 0, fmt.Errorf("%s is out of range", s)
		}
		return v * mult, nil
	}
	if k, ok := keywords[strings.ToLower(s)]; ok {
		return uint64(k), nil
	}
	if len(keywords) == 0 {
		return 0, fmt.Errorf("invalid value %q", s)
	}
	return 0, fmt.Errorf("%q is not a number or one of the known names", s)
}

// CSV writes the table in gen_esp32part.py's to_csv form.
func (t *Table) CSV() string {
	var b strings.Builder
	b.WriteString("# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n")
	for _, e := range t.Entries {
		size := fmt.Sprintf("0x%x", e.Size)
		switch {
		case e.Size%0x100000 == 0:
			size = fmt.Sprintf("%dM", e.Size/0x100000)
		case e.Size%0x400 == 0:
			size = fmt.Sprintf("%dK", e.Size/0x400)
		}
		typ := TypeName(e.Type)
		if e.Type != TypeApp && e.Type != TypeData {
			typ = fmt.Sprintf("%d", e.Type)
		}
		sub := SubtypeName(e.Type, e.Subtype)
		if strings.HasPrefix(sub, "0x") {
			sub = fmt.Sprintf("%d", e.Subtype)
		}
		fmt.Fprintf(&b, "%s,%s,%s,0x%x,%s,%s\n", e.Name, typ, sub, e.Offset, size, FlagNames(e.Flags))
	}
	return b.String()
}

package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// checkDuplicateKeys refuses a JSON document in which an object, at any
// depth, repeats a key. encoding/json keeps the last value, and matches
// field names case-insensitively, so `"max_dacs": 10, "MAX_DACS": 100000`
// would silently read as 100000; keys are therefore compared without case.
// The error names the object by its path ("stations[1].products[0]").
func checkDuplicateKeys(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dupValue(dec, "")
}

// dupValue reads one value from dec, checking every object inside it.
func dupValue(dec *json.Decoder, path string) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := t.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	switch d {
	case '{':
		seen := map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := kt.(string)
			fold := strings.ToLower(k)
			if first, dup := seen[fold]; dup {
				where := path
				if where == "" {
					where = "the top level"
				}
				if first == k {
					return fmt.Errorf("%s: duplicate key %q", where, k)
				}
				return fmt.Errorf("%s: duplicate key %q (as %q; keys are matched without case)", where, k, first)
			}
			seen[fold] = k
			if err := dupValue(dec, join(path, k)); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := dupValue(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

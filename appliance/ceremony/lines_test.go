package ceremony

import (
	"errors"
	"strings"
	"testing"
)

func TestReadCSRLines(t *testing.T) {
	labels := product{vid: 0xFFF1, pid: 0x8000, hasVID: true, hasPID: true}
	in := `{"id":"a","csr":"MAA="}
{"id":"b","csr":"MAA=","pid":"8001"}
`
	var got []Request
	err := readCSRLines(strings.NewReader(in), labels, func(r Request) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 0 || got[1].Index != 1 || got[0].PID != 0x8000 || got[1].PID != 0x8001 ||
		got[1].VID != 0xFFF1 || got[1].ModuleID != "b" || string(got[0].CSR) != "0\x00" {
		t.Fatalf("%+v", got)
	}
	for _, tc := range []struct {
		name, in string
		def      product
		want     string
	}{
		{"no product anywhere", `{"id":"a","csr":"MAA="}` + "\n", product{}, "no vid on the line"},
		{"no pid", `{"id":"a","csr":"MAA=","vid":"FFF1"}` + "\n", product{}, "no pid on the line"},
		{"unknown field", `{"id":"a","csr":"MAA=","subject":"x"}` + "\n", labels, `unknown field "subject"`},
		{"trailing data", `{"id":"a","csr":"MAA="} {}` + "\n", labels, "trailing data"},
		{"bad vid", `{"id":"a","csr":"MAA=","vid":"FFF"}` + "\n", labels, "vid:"},
		{"bad base64", `{"id":"a","csr":"!!"}` + "\n", labels, "illegal base64"},
		{"no final newline", `{"id":"a","csr":"MAA="}`, labels, "does not end with a newline"},
		{"long line", `{"id":"` + strings.Repeat("x", 5000) + `","csr":"MAA="}` + "\n", labels, "longer than"},
		{"long id", `{"id":"` + strings.Repeat("x", 129) + `","csr":"MAA="}` + "\n", labels, "id longer than 128"},
		{"not json", "hello\n", labels, "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readCSRLines(strings.NewReader(tc.in), tc.def, func(Request) error { return nil })
			if !errors.Is(err, ErrBatchMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBatchMalformed containing %q", err, tc.want)
			}
		})
	}
}

func FuzzReadCSRLines(f *testing.F) {
	f.Add([]byte(`{"id":"a","csr":"MAA="}` + "\n"))
	f.Add([]byte(`{"id":"b","csr":"MAA=","vid":"FFF1","pid":"8001"}` + "\n" + `{"id":"c","csr":""}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := uint32(0)
		readCSRLines(strings.NewReader(string(b)), product{hasVID: true, hasPID: true}, func(r Request) error {
			if r.Index != n {
				t.Fatalf("index %d for line %d", r.Index, n)
			}
			n++
			return nil
		})
	})
}

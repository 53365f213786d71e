package inspect

import (
	"crypto/x509"

	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/lineclient/esp/partition"
	"github.com/dacline/dacline/lineclient/esp/securecert"
)

// Kind is what the inspected bytes were.
type Kind string

const (
	KindImage      Kind = "image"           // a whole flash image
	KindSecureCert Kind = "esp_secure_cert" // one esp_secure_cert partition
	KindNVS        Kind = "nvs"             // one NVS partition
	KindTable      Kind = "partition-table" // a partition table
)

// Check is one verdict.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, fail, skip
	Detail string `json:"detail,omitempty"`
}

// Statuses of a check.
const (
	StatusOK   = "ok"
	StatusFail = "fail"
	StatusSkip = "skip"
)

// Partition is one table entry as reported.
type Partition struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	Offset  uint32 `json:"offset"`
	Size    uint32 `json:"size"`
	Flags   string `json:"flags,omitempty"`
}

// TLV is one esp_secure_cert entry as reported.
type TLV struct {
	Offset  int    `json:"offset"`
	Type    string `json:"type"`
	Subtype uint8  `json:"subtype"`
	Flags   uint8  `json:"flags"`
	Length  int    `json:"length"`
	Padding int    `json:"padding"`
	CRC     uint32 `json:"crc32"`
	Summary string `json:"summary,omitempty"`
}

// NVSEntry is one stored NVS entry as reported.
type NVSEntry struct {
	Offset    int    `json:"offset"`
	Page      int    `json:"page"`
	Index     int    `json:"index"`
	Namespace uint8  `json:"namespace_index"`
	Type      string `json:"type"`
	Span      uint8  `json:"span"`
	Chunk     uint8  `json:"chunk_index"`
	Key       string `json:"key"`
	CRC       uint32 `json:"crc32"`
	DataSize  int    `json:"data_size,omitempty"`
	DataCRC   uint32 `json:"data_crc32,omitempty"`
	Erased    bool   `json:"erased,omitempty"`
}

// Value is one key-value pair as reported.
type Value struct {
	Namespace string `json:"namespace"`
	Key       string `json:"key"`
	Type      string `json:"type"`
	Value     string `json:"value"`
}

// Report is everything Inspect found.
type Report struct {
	Kind       Kind        `json:"kind"`
	Size       int         `json:"size"`
	Partitions []Partition `json:"partitions,omitempty"`
	// SecureCertOffset/NVSOffset: where the partitions are in the input.
	SecureCertOffset int        `json:"esp_secure_cert_offset,omitempty"`
	TLVs             []TLV      `json:"tlvs,omitempty"`
	KeyStorage       string     `json:"key_storage,omitempty"`
	NVSOffset        int        `json:"nvs_offset,omitempty"`
	NVSEntries       []NVSEntry `json:"nvs_entries,omitempty"`
	Values           []Value    `json:"values,omitempty"`
	Factory          *Factory   `json:"factory,omitempty"`
	Checks           []Check    `json:"checks"`
	OK               bool       `json:"ok"`

	// Parsed parts, for callers (not in JSON).
	Table      *partition.Table      `json:"-"`
	SecureCert *securecert.Partition `json:"-"`
	NVS        *nvs.Partition        `json:"-"`
	DAC, PAI   *x509.Certificate     `json:"-"`
	// DACSource says where the DAC, PAI and key were read: esp_secure_cert
	// or the factory NVS partition (the factory-partition DAC provider).
	DACSource string `json:"dac_source,omitempty"`

	missing []Check // esp_secure_cert lacks an entry; decided once NVS is read
}

func (r *Report) add(name, status, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: status, Detail: detail})
}
func (r *Report) ok(name, detail string)   { r.add(name, StatusOK, detail) }
func (r *Report) fail(name, detail string) { r.add(name, StatusFail, detail) }
func (r *Report) skip(name, detail string) { r.add(name, StatusSkip, detail) }

// Failed lists the failed checks.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			out = append(out, c)
		}
	}
	return out
}

package batch

// Payload file names and line formats of csr-batch and dac-batch bundles.
// They mirror the appliance ceremony's reader and writer
// (appliance/ceremony/lines.go); the two sides may not import each other, so
// the JSON field names are the contract (airgap-bundles/FORMAT.md).
const (
	CSRFile     = "csrs.jsonl"
	DACFile     = "dacs.jsonl"
	RefusalFile = "refusals.jsonl"
	PAIFile     = "pai.pem"
	PAAFile     = "paa.pem"
)

// CSRLine is one line of csrs.jsonl.
type CSRLine struct {
	Index    uint32 `json:"index"`
	ModuleID string `json:"module_id"`
	VID      string `json:"vid"` // 4 upper-case hex digits
	PID      string `json:"pid"`
	CSR      []byte `json:"csr"` // PKCS#10 DER, base64 in JSON
}

// DACLine is one line of dacs.jsonl.
type DACLine struct {
	Index      uint32 `json:"index"`
	ModuleID   string `json:"module_id"`
	VID        string `json:"vid"`
	PID        string `json:"pid"`
	Serial     string `json:"serial"`
	SPKISHA256 string `json:"spki_sha256"`
	DAC        []byte `json:"dac"`
	LogIndex   uint64 `json:"log_index"`
	TLogProof  string `json:"tlog_proof"`
}

// RefusalLine is one line of refusals.jsonl.
type RefusalLine struct {
	Index    uint32 `json:"index"`
	ModuleID string `json:"module_id"`
	Reason   string `json:"reason"`
	Detail   string `json:"detail"`
	LogIndex uint64 `json:"log_index"`
}

// maxLine bounds one JSON line of a payload file.
const maxLine = 8192

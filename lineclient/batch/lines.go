package batch

// Payload file names and line formats of csr-batch and dac-batch bundles
// (airgap-bundles/FORMAT.md §8.2, §8.3). They mirror the appliance
// ceremony's reader and writer (appliance/ceremony/lines.go); the two sides
// may not import each other, so the JSON field names are the contract.
const (
	CSRFile        = "csrs.jsonl"
	DACFile        = "dacs.jsonl"
	RefusalFile    = "refusals.jsonl"
	PAIFile        = "pai.der"
	PAAFile        = "paa.der"
	CheckpointFile = "checkpoint.txt"
)

// CSRLine is one line of csrs.jsonl. The product is named once, in the
// manifest's labels.vid and labels.pid.
type CSRLine struct {
	ID  string `json:"id"`  // module identity: the MAC, aa:bb:cc:dd:ee:ff
	CSR []byte `json:"csr"` // PKCS#10 DER, base64 in JSON
}

// DACLine is one line of dacs.jsonl.
type DACLine struct {
	ID         string `json:"id"`
	Index      uint32 `json:"index"` // line of the CSR in csrs.jsonl
	SPKISHA256 string `json:"spki_sha256"`
	DAC        []byte `json:"dac"`
	VID        string `json:"vid"`
	PID        string `json:"pid"`
	Serial     string `json:"serial"`
	LogIndex   uint64 `json:"log_index"`
	TLogProof  string `json:"tlog_proof"`
}

// RefusalLine is one line of refusals.jsonl.
type RefusalLine struct {
	ID       string `json:"id"`
	Index    uint32 `json:"index"`
	Reason   string `json:"reason"`
	Detail   string `json:"detail"`
	LogIndex uint64 `json:"log_index"`
}

// maxLine bounds one JSON line of a payload file.
const maxLine = 8192

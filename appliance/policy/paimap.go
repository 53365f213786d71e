package policy

import "fmt"

// PAIMapping names the PAI (by its token label, as `appliance pai list`
// shows it) that signs the DACs of one vendor ID's products: all of them
// when PIDs is empty, else the listed ones. A mapping with PIDs wins over
// one without for the same VID. `appliance policy set` refuses a label the
// appliance has no PAI for; a ceremony refuses a batch whose product is
// mapped to a retired or certificate-less PAI, before issuing anything.
type PAIMapping struct {
	Label string   `json:"label"`
	VID   string   `json:"vid"`
	PIDs  []string `json:"pids,omitempty"`
}

func (p *Policy) validatePAIs() error {
	type key struct {
		vid, pid uint16
		any      bool
	}
	seen := map[key]int{}
	for i, m := range p.PAIs {
		path := fmt.Sprintf("pais[%d]", i)
		if m.Label == "" {
			return fieldErr(path+".label", "is required")
		}
		vid, err := ParseID(m.VID)
		if err != nil {
			return fieldErr(path+".vid", "is invalid: %v", err)
		}
		if vid == 0 {
			return fieldErr(path+".vid", "vendor ID 0000 is not a valid vendor")
		}
		if len(m.PIDs) == 0 {
			k := key{vid: vid, any: true}
			if j, dup := seen[k]; dup {
				return fieldErr(path+".vid", "%04X is already mapped as a whole by pais[%d]", vid, j)
			}
			seen[k] = i
		}
		for n, ps := range m.PIDs {
			pid, err := ParseID(ps)
			if err != nil {
				return fieldErr(fmt.Sprintf("%s.pids[%d]", path, n), "is invalid: %v", err)
			}
			k := key{vid: vid, pid: pid}
			if j, dup := seen[k]; dup {
				return fieldErr(fmt.Sprintf("%s.pids[%d]", path, n), "%04X/%04X is already mapped by pais[%d]", vid, pid, j)
			}
			seen[k] = i
		}
	}
	return nil
}

// PAIFor is the label of the PAI the policy names for vid/pid, "" when it
// names none (then the appliance picks the newest active PAI covering it).
func (p *Policy) PAIFor(vid, pid uint16) string {
	whole := ""
	for _, m := range p.PAIs {
		v, err := ParseID(m.VID)
		if err != nil || v != vid {
			continue
		}
		if len(m.PIDs) == 0 {
			whole = m.Label
		}
		for _, ps := range m.PIDs {
			if q, err := ParseID(ps); err == nil && q == pid {
				return m.Label
			}
		}
	}
	return whole
}

// PAILabels lists the labels the policy names, in order, each once.
func (p *Policy) PAILabels() []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range p.PAIs {
		if !seen[m.Label] {
			seen[m.Label] = true
			out = append(out, m.Label)
		}
	}
	return out
}

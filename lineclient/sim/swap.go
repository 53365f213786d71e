package sim

import "github.com/dacline/dacline/shared/lineproto"

// waitingForBatch reports whether the module has its key and nothing
// written: the station polls it while its CSR waits for a batch. Caller
// holds m.mu.
func (m *module) waitingForBatch() bool {
	return m.key != nil && m.p.LockMask == 0 && len(m.p.Items) == 0
}

// maybeSwapRing is the swap of Options.SwapWaiting, once the module on the
// jig has answered SwapPolls polls in a row while settled: a locked module
// is replaced by the next of the jig's modules (in order, going round) that
// is not locked; a module waiting for its batch by the next one that has no
// key yet. With none, the module stays. Caller holds j.mu.
func (j *Jig) maybeSwapRing(locked bool) {
	if j.mod == nil || j.polls < j.sim.opts.SwapPolls {
		return
	}
	k := j.sim.opts.ModulesPerJig
	if k < 2 {
		return
	}
	first := j.index * k
	for step := 1; step < k; step++ {
		id := first + (j.modID-first+step)%k
		if j.sim.onOtherJig(id, j.index) {
			continue
		}
		m, err := j.sim.get(id)
		if err != nil {
			j.sim.opts.Logf("jig %d: module %d: %v", j.index, id, err)
			return
		}
		m.mu.Lock()
		st, hasKey := m.state(), m.key != nil
		m.mu.Unlock()
		if (locked && st != lineproto.StateLocked) || (!locked && !hasKey) {
			if err := j.insertLocked(id); err != nil {
				j.sim.opts.Logf("jig %d: insert module %d: %v", j.index, id, err)
			}
			return
		}
	}
}

// onOtherJig reports whether module id is on a jig other than jig.
func (s *Sim) onOtherJig(id, jig int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	other, ok := s.onJig[id]
	return ok && other != jig
}

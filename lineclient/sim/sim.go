package sim

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Sim is a running simulator: Count jigs, each a pseudo-terminal with a
// virtual module behind it.
type Sim struct {
	opts    Options
	store   *stateStore
	jigs    []*Jig
	closing chan struct{}
	dl      *downloadState // download.go; guarded by mu

	mu      sync.Mutex
	modules map[int]*module
	onJig   map[int]int // module ID → jig index
	closed  bool
}

// maxModuleID bounds module IDs (the MAC has 24 free bits).
const maxModuleID = 1<<24 - 1

// Start opens the jigs, puts module j*ModulesPerJig on jig j, and starts
// serving. Close it to stop and save.
func Start(opts Options) (*Sim, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	s := &Sim{opts: opts, closing: make(chan struct{}), modules: map[int]*module{}, onJig: map[int]int{}}
	if opts.StateDir != "" {
		st, err := newStateStore(opts.StateDir)
		if err != nil {
			return nil, err
		}
		s.store = st
	}
	for i := range opts.Count {
		j, err := newJig(s, i)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.jigs = append(s.jigs, j)
		go j.run()
		first := i * opts.ModulesPerJig
		if opts.ModulesPerJig > 1 {
			j.next = first + 1
		}
		if err := j.Insert(first); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Ports lists the jigs' device paths, jig 0 first.
func (s *Sim) Ports() []string {
	out := make([]string, len(s.jigs))
	for i, j := range s.jigs {
		out[i] = j.Path()
	}
	return out
}

// Jig returns jig i (0-based); it panics on an index out of range, like a slice.
func (s *Sim) Jig(i int) *Jig { return s.jigs[i] }

// Module returns a snapshot of module id, loading it from the state
// directory (or creating it blank) if it has not been on a jig yet.
func (s *Sim) Module(id int) (ModuleInfo, error) {
	m, err := s.get(id)
	if err != nil {
		return ModuleInfo{}, err
	}
	return m.info(), nil
}

// Modules returns snapshots of every module loaded so far, by ID.
func (s *Sim) Modules() []ModuleInfo {
	s.mu.Lock()
	ids := make([]int, 0, len(s.modules))
	for id := range s.modules {
		ids = append(ids, id)
	}
	mods := s.modules
	s.mu.Unlock()
	sort.Ints(ids)
	out := make([]ModuleInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, mods[id].info())
	}
	return out
}

func (s *Sim) get(id int) (*module, error) {
	if id < 0 || id > maxModuleID {
		return nil, fmt.Errorf("sim: module id %d out of range 0..%d", id, maxModuleID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.modules[id]; ok {
		return m, nil
	}
	m, err := loadModule(id, &s.opts, s.store)
	if err != nil {
		return nil, err
	}
	s.modules[id] = m
	return m, nil
}

// claim marks module id as on jig; a module is on one jig at a time.
func (s *Sim) claim(id, jig int) (*module, error) {
	m, err := s.get(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("sim: closed")
	}
	if other, ok := s.onJig[id]; ok && other != jig {
		return nil, fmt.Errorf("sim: module %d is on jig %d", id, other)
	}
	s.onJig[id] = jig
	return m, nil
}

func (s *Sim) release(id int) {
	s.mu.Lock()
	delete(s.onJig, id)
	s.mu.Unlock()
}

// Close stops every jig, closes the pseudo-terminals and saves every
// module's state. It is safe to call twice.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.closing)
	for _, j := range s.jigs {
		j.close()
	}
	var errs []error
	for _, in := range s.Modules() {
		m, _ := s.get(in.ID)
		m.mu.Lock()
		errs = append(errs, m.save())
		m.mu.Unlock()
	}
	s.closeFlashes()
	return errors.Join(errs...)
}

package hsm

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/miekg/pkcs11"
)

// DefaultModule is the PKCS#11 module used when none is configured: SoftHSM2 as
// packaged by Debian and Ubuntu.
const DefaultModule = "/usr/lib/softhsm/libsofthsm2.so"

// module is one loaded PKCS#11 library. C_Initialize runs once per module per
// process: every Token of the process shares it, and the last Close finalises it
// (so a later Open, e.g. with another SOFTHSM2_CONF in tests, starts afresh).
type module struct {
	path        string
	ctx         PKCtx
	refs        int
	initialized bool   // we called C_Initialize and must call C_Finalize
	softhsmConf string // SOFTHSM2_CONF in effect when the module was initialised
}

var registry = struct {
	sync.Mutex
	mods map[string]*module
}{mods: map[string]*module{}}

// loadModule loads the library at path. Tests replace it to hand out fakes.
var loadModule = func(path string) (PKCtx, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrModuleNotFound, path)
	}
	c := pkcs11.New(path)
	if c == nil {
		return nil, fmt.Errorf("%w: %s: the library could not be loaded (is it a PKCS#11 module for this architecture?)", ErrModuleLoad, path)
	}
	return c, nil
}

// acquireModule returns the process-wide module for path, loading and
// initialising it on first use. softhsmConf, when set, is exported as
// SOFTHSM2_CONF before C_Initialize (SoftHSM2 reads it only then).
func acquireModule(path, softhsmConf string) (*module, error) {
	if path == "" {
		path = DefaultModule
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	registry.Lock()
	defer registry.Unlock()
	if m, ok := registry.mods[path]; ok {
		if softhsmConf != "" && softhsmConf != m.softhsmConf {
			return nil, fmt.Errorf("pkcs11 module %s is already in use in this process with SOFTHSM2_CONF=%q, not %q", path, m.softhsmConf, softhsmConf)
		}
		m.refs++
		return m, nil
	}
	if softhsmConf != "" {
		if err := os.Setenv("SOFTHSM2_CONF", softhsmConf); err != nil {
			return nil, fmt.Errorf("set SOFTHSM2_CONF: %w", err)
		}
	}
	ctx, err := loadModule(path)
	if err != nil {
		return nil, err
	}
	m := &module{path: path, ctx: ctx, refs: 1, softhsmConf: os.Getenv("SOFTHSM2_CONF")}
	switch err := ctx.Initialize(); {
	case err == nil:
		m.initialized = true
	case isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED):
		// Someone else in this process initialised the library; it stays theirs.
	default:
		ctx.Destroy()
		return nil, fmt.Errorf("%w: %s: C_Initialize: %w", ErrModuleLoad, path, err)
	}
	registry.mods[path] = m
	return m, nil
}

// release drops one reference; the last one finalises and unloads the module.
func (m *module) release() {
	registry.Lock()
	defer registry.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	delete(registry.mods, m.path)
	if m.initialized {
		_ = m.ctx.Finalize()
	}
	m.ctx.Destroy()
}

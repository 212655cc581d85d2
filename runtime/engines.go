package runtime

import (
	"fmt"
	"sync"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// enginePreference orders the engines for DefaultEngine. Build tags decide
// which are linked: wasmtime (no tag, cgo), wasmer (-tags wasmer), wazero
// (always).
var enginePreference = []string{"wasmtime", "wasmer", "wazero"}

// Engines returns the names of the engines linked into this binary, sorted.
func Engines() []string { return engine.Drivers() }

// DefaultEngine returns the engine New uses: wasmtime when linked (the
// default build with cgo), else wasmer (-tags wasmer), else wazero
// (-tags wazero, or CGO_ENABLED=0).
func DefaultEngine() string {
	for _, name := range enginePreference {
		if _, ok := engine.Lookup(name); ok {
			return name
		}
	}
	if names := engine.Drivers(); len(names) > 0 {
		return names[0]
	}
	return ""
}

// sharedEngine is one process-wide engine per name, opened on first use.
type sharedEngine struct {
	once sync.Once
	eng  engine.Engine
	err  error
}

// engineKey identifies a shared engine: engines with a cache directory of
// their own (wazero) get one instance per directory.
type engineKey struct{ name, cacheDir string }

var sharedEngines sync.Map // engineKey -> *sharedEngine

func openEngine(name string, cfg engine.Config) (engine.Engine, error) {
	drv, ok := engine.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q (linked: %v)", ErrUnknownEngine, name, engine.Drivers())
	}
	s, _ := sharedEngines.LoadOrStore(engineKey{name, cfg.CacheDir}, &sharedEngine{})
	se := s.(*sharedEngine)
	se.once.Do(func() {
		se.eng, se.err = drv.Open(cfg)
		if se.err != nil {
			se.err = fmt.Errorf("aspect: opening engine %q: %w", name, se.err)
		}
	})
	return se.eng, se.err
}

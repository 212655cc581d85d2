package runtime

import (
	"log/slog"
	"time"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// Option configures a Runtime or Module.
type Option func(*config)

type config struct {
	logger           *slog.Logger
	memoryLimitPages uint32
	cacheDir         string
	metering         *metering.Config
	startGas         uint64        // see WithStartGas; 0 means DefaultStartGas
	startTimeout     time.Duration // see WithStartTimeout
	// providers satisfy imports outside the host API registry (WASI, the
	// gas-metering imports); tried in order before the registry.
	providers []importProvider
	// initExports are called once per instance after instantiation, before
	// StartFunction (e.g. a WASI reactor's _initialize).
	initExports []string
}

// importProvider returns the host function for imp, or ok == false if imp is
// not its to provide. A non-nil error rejects the import (e.g. a known name
// with the wrong signature).
type importProvider func(rt *Runtime, imp engine.Import) (fn engine.HostFunc, ok bool, err error)

func newConfig(opts []Option) config {
	c := config{logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithLogger makes the runtime log to l (debug records for instantiation,
// warnings for recovered host panics). The default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithMemoryLimitPages caps the guest's linear memory at pages of 64 KiB.
// memory.grow past the limit returns -1 in the guest. Zero means no limit
// beyond the wasm maximum of 4 GiB. It applies when the module is compiled.
func WithMemoryLimitPages(pages uint32) Option {
	return func(c *config) { c.memoryLimitPages = pages }
}

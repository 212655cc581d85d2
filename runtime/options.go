package runtime

import (
	"log/slog"
)

// Option configures a Runtime or Module.
type Option func(*config)

type config struct {
	logger           *slog.Logger
	memoryLimitPages uint32
}

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

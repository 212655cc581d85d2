package engine

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// WithLogger returns a context carrying l, the runtime's logger, for an
// engine to warn through while it compiles (the wazero adapter reports the
// disk cache entries it discards there).
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger WithLogger put in ctx, or one that discards
// everything.
func Logger(ctx context.Context) *slog.Logger {
	if ctx != nil {
		if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
			return l
		}
	}
	return slog.New(slog.DiscardHandler)
}

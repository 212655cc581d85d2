package cachefile

import (
	"context"
	"errors"
	"log/slog"
)

// The warnings logged about the cache, the same on every engine. Each comes
// with the attributes "engine", "path" (or "dir") and "error", and for a
// removed entry "removed" (whether it could be removed).
const (
	// MsgBadEntry: Read refused an entry (*EntryError); it was removed and
	// the module recompiled.
	MsgBadEntry = "aspect: bad compiled-module cache entry removed; recompiling"
	// MsgRejected: a verified entry was refused by the engine that loads it
	// (an error, or a panic recovered); it was removed and the module
	// recompiled.
	MsgRejected = "aspect: compiled-module cache entry rejected by the engine and removed; recompiling"
	// MsgDirUnusable: the cache directory cannot be looked into, created
	// or written to (*DirError); the module is compiled without the cache.
	MsgDirUnusable = "aspect: compiled-module cache directory unusable; compiling without the cache"
	// MsgWriteFailed: the compiled module could not be stored for another
	// reason (something that is not a file where the entry goes, a payload
	// over the size bound, serialization failed).
	MsgWriteFailed = "aspect: cannot write compiled-module cache entry"
)

// ReportRead logs the error Read returned, if it is worth a warning, and
// removes a bad entry. It returns false when the directory is unusable (the
// caller then compiles without writing an entry).
func ReportRead(ctx context.Context, l *slog.Logger, engine, path string, err error) (dirUsable bool) {
	var de *DirError
	switch {
	case err == nil, errors.Is(err, ErrNotFound):
		return true
	case errors.As(err, &de):
		l.WarnContext(ctx, MsgDirUnusable, "engine", engine, "dir", de.Dir, "error", err)
		return false
	}
	removeAndWarn(ctx, l, MsgBadEntry, engine, path, err)
	return true
}

// ReportRejected removes the entry at path, which the engine refused to
// load (err: its error or recovered panic), and logs it.
func ReportRejected(ctx context.Context, l *slog.Logger, engine, path string, err error) {
	removeAndWarn(ctx, l, MsgRejected, engine, path, err)
}

// ReportWrite logs the error Write (or the serialization before it)
// returned, if any.
func ReportWrite(ctx context.Context, l *slog.Logger, engine, path string, err error) {
	var de *DirError
	switch {
	case err == nil:
	case errors.As(err, &de):
		l.WarnContext(ctx, MsgDirUnusable, "engine", engine, "dir", de.Dir, "error", err)
	default:
		l.WarnContext(ctx, MsgWriteFailed, "engine", engine, "path", path, "error", err)
	}
}

func removeAndWarn(ctx context.Context, l *slog.Logger, msg, engine, path string, err error) {
	attrs := []any{"engine", engine, "path", path, "error", err}
	if rerr := Remove(path); rerr != nil {
		attrs = append(attrs, "removed", false, "remove_error", rerr)
	} else {
		attrs = append(attrs, "removed", true)
	}
	l.WarnContext(ctx, msg, attrs...)
}

package wasi

import (
	"context"
	"sync"
	"time"
)

// Clock is the time a guest sees: clock_time_get, clock_res_get and the clock
// subscriptions of poll_oneoff. Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the wall-clock time (CLOCK_REALTIME).
	Now() time.Time
	// Nanotime returns the monotonic time in nanoseconds (CLOCK_MONOTONIC):
	// it never decreases; only differences are meaningful.
	Nanotime() int64
	// Sleep waits for d, or until ctx is done, in which case it returns
	// ctx's error. A fake clock advances itself by d instead of waiting.
	Sleep(ctx context.Context, d time.Duration) error
}

// MonotonicStart is the first reading of the monotonic clocks of this
// package, in nanoseconds: not zero, which some guest runtimes (Go's) take
// for a broken clock.
const MonotonicStart = int64(time.Second)

// SystemClock returns the host's clock: the real wall-clock time, a
// monotonic reading from MonotonicStart at the host process's start, and
// real sleeps.
func SystemClock() Clock { return systemClock{} }

// processStart is the origin of SystemClock's monotonic readings.
var processStart = time.Now()

type systemClock struct{}

func (systemClock) Now() time.Time  { return time.Now() }
func (systemClock) Nanotime() int64 { return MonotonicStart + int64(time.Since(processStart)) }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FakeClock is a deterministic clock: its time changes only when a guest
// sleeps (by exactly the requested duration, without waiting) or when
// Advance is called. Give every instance its own FakeClock for reproducible
// runs.
type FakeClock struct {
	mu   sync.Mutex
	wall time.Time
	mono int64
}

// NewFakeClock returns a FakeClock whose wall clock starts at start and whose
// monotonic clock starts at MonotonicStart.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{wall: start, mono: MonotonicStart} }

// Now implements Clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

// Nanotime implements Clock.
func (c *FakeClock) Nanotime() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

// Sleep implements Clock: it advances the clock by d and returns at once.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		c.Advance(d)
	}
	return ctx.Err()
}

// Advance moves both clocks forward by d (ignored if d ≤ 0).
func (c *FakeClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
	c.mono += int64(d)
}

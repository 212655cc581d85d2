package pool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// exclusiveChildEnv, set, makes the tests of this file run their cases in
// the process itself; unset, each runs them in a child process (a re-run
// of the test binary, see inChild).
const exclusiveChildEnv = "ASPECT_POOL_EXCLUSIVE_CHILD"

// inChild reports whether the calling test should run its cases here: in
// the child process, yes; otherwise it re-runs the test in a child and
// fails if the child does not pass, crashes or runs for minutes, and the
// caller returns. The cases check that no two calls ever run in one
// instance at once, which the runtimes of Call's instances no longer
// prevent with their lock: on wasmer such a regression can crash the
// process instead of failing the test.
func inChild(t *testing.T) bool {
	if os.Getenv(exclusiveChildEnv) != "" {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), exclusiveChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the cases did not finish (deadlock?):\n%s", out)
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: "+t.Name(), "%s", out)
	return false
}

// TestCallWaitsForALeasesCall: an instance Call created (whose calls skip
// the runtime's lock while only Call leases it) is leased with a handle
// (Runtime, or Do), put back while the handle's call still runs (a
// misuse), and leased by Call again: that call waits for the handle's to
// return instead of running in the same instance at the same time (with
// -race, a data race).
func TestCallWaitsForALeasesCall(t *testing.T) {
	if !inChild(t) {
		return
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		t.Run("Runtime", func(t *testing.T) { testCallWaitsForALeasesCall(t, engine, false) })
		t.Run("Do", func(t *testing.T) { testCallWaitsForALeasesCall(t, engine, true) })
	})
}

// testCallWaitsForALeasesCall is TestCallWaitsForALeasesCall with a lease
// by Do if do, else by Runtime.
func testCallWaitsForALeasesCall(t *testing.T, engine string, do bool) {
	ctx := context.Background()
	p := pool.New(1, pool.WithKeepState())
	defer p.Close(ctx)
	_, err := p.Call(ctx, engine, greetWasm, requestRegistry(t, "first"), "greet", "x")
	require.NoError(t, err)

	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	entered, release := make(chan struct{}), make(chan struct{})
	blocking := runtime.NewHostAPIRegistry()
	require.NoError(t, blocking.AddAPI("index", "test", "hello", func(s string) string {
		close(entered)
		<-release
		note("lease")
		return s
	}))
	leaseDone := make(chan error, 1)
	start := func(rt *runtime.Runtime) {
		go func() {
			_, err := rt.Call(ctx, "greet", "x")
			leaseDone <- err
		}()
		<-entered
	}
	if do {
		require.NoError(t, p.Do(ctx, engine, greetWasm, blocking, func(rt *runtime.Runtime) error {
			start(rt)
			return nil // put back while its call runs
		}))
	} else {
		l, err := p.Runtime(ctx, engine, greetWasm, blocking)
		require.NoError(t, err)
		start(l.Runtime)
		p.PutBack(l) // while its call runs
	}
	require.Equal(t, uint64(1), p.Stats().Hits, "the instance Call created")

	callDone := make(chan error, 1)
	go func() {
		reg := runtime.NewHostAPIRegistry()
		err := reg.AddAPI("index", "test", "hello", func(s string) string {
			note("call")
			return s
		})
		if err == nil {
			_, err = p.Call(ctx, engine, greetWasm, reg, "greet", "x")
		}
		callDone <- err
	}()
	// Every chance for the Call to run ahead of the lease's call.
	for range 1000 {
		goruntime.Gosched()
	}
	close(release)
	require.NoError(t, <-leaseDone)
	require.NoError(t, <-callDone)
	assert.Equal(t, []string{"lease", "call"}, order)
	s := p.Stats()
	assert.Equal(t, uint64(2), s.Hits)
	assert.Equal(t, uint64(1), s.Misses)
	assert.Equal(t, 1, s.Idle)
}

// TestHandleOfALeaseEndsWithIt: a handle made from a lease's runtime
// (Runtime.Handle) is revoked with the lease: after PutBack it fails with
// runtime.ErrClosed instead of calling the instance the next user has (it
// used to reach it: the next lease's counter moved), also while Call, whose
// calls of an instance no handle can reach skip the runtime's lock, calls
// the instance from other goroutines (with -race: no race).
func TestHandleOfALeaseEndsWithIt(t *testing.T) {
	if !inChild(t) {
		return
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(1, pool.WithKeepState())
		defer p.Close(ctx)
		l, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		child, revoke := l.Runtime.Handle()
		defer revoke()
		assert.Equal(t, int64(1), counter(t, l))
		p.PutBack(l)

		l2, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		require.Equal(t, uint64(1), p.Stats().Hits, "the same instance")
		_, err = child.Call(ctx, "counter")
		require.ErrorIs(t, err, runtime.ErrClosed)
		assert.Equal(t, int64(2), counter(t, l2), "the next lease's state is its own")
		p.PutBack(l2)

		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range 200 {
					if _, err := p.Call(ctx, engine, echoWasm, nil, "counter"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 200 {
				if _, err := child.Call(ctx, "counter"); !errors.Is(err, runtime.ErrClosed) {
					t.Errorf("a revoked lease's handle: %v", err)
					return
				}
			}
		})
		wg.Wait()
	})
}

// TestMixedLeasesConcurrently: Call, Do and Runtime leases of one key from
// 6 goroutines at once, with handles kept past their lease and used from
// other goroutines, and Stats read meanwhile: every call sees its own
// registry, a kept handle fails with runtime.ErrClosed, the counters add
// up, and -race finds no call of an instance without its lock while a
// handle on it can still run (instances switch between Call's lock-free
// leases and leases with handles all along).
func TestMixedLeasesConcurrently(t *testing.T) {
	if !inChild(t) {
		return
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		defer p.Close(ctx)
		const rounds = 150
		var wg sync.WaitGroup
		kept := make(chan *runtime.Runtime, 6*rounds)
		check := func(id string, out any, err error) {
			if err != nil {
				t.Error(err)
			} else if out != id+" greets x" {
				t.Errorf("%s's call returned %v", id, out)
			}
		}
		for g := range 6 {
			wg.Go(func() {
				for i := range rounds {
					id := fmt.Sprintf("g%d-%d", g, i)
					reg := requestRegistry(t, id)
					switch (g + i) % 3 {
					case 0:
						out, err := p.Call(ctx, engine, greetWasm, reg, "greet", "x")
						check(id, out, err)
					case 1:
						err := p.Do(ctx, engine, greetWasm, reg, func(rt *runtime.Runtime) error {
							out, err := rt.Call(ctx, "greet", "x")
							check(id, out, err)
							child, _ := rt.Handle()
							kept <- child
							return nil
						})
						if err != nil {
							t.Error(err)
						}
					case 2:
						l, err := p.Runtime(ctx, engine, greetWasm, reg)
						if err != nil {
							t.Error(err)
							continue
						}
						out, err := l.Runtime.Call(ctx, "greet", "x")
						check(id, out, err)
						kept <- l.Runtime
						p.PutBack(l)
					}
				}
			})
		}
		wg.Go(func() {
			for range rounds {
				select {
				case rt := <-kept:
					if _, err := rt.Call(ctx, "greet", "x"); !errors.Is(err, runtime.ErrClosed) {
						t.Errorf("a handle kept past its lease: %v", err)
					}
				default:
					_ = p.Stats()
				}
			}
		})
		wg.Wait()
		s := p.Stats()
		assert.Equal(t, uint64(6*rounds), s.Hits+s.Misses, "every lease a hit or a miss")
		assert.Equal(t, 0, s.Live)
		assert.LessOrEqual(t, s.Idle, 2)
		assert.Zero(t, s.Leaked)
	})
}

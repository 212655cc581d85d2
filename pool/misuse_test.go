package pool_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestLeaseUsedAfterPutBack: a runtime kept past its lease fails with
// ErrClosed instead of running on the instance the next lease has (it used
// to see and change the next lease's state).
func TestLeaseUsedAfterPutBack(t *testing.T) {
	ctx := context.Background()
	forEachEngine(t, func(t *testing.T, engine string) {
		p := pool.New(1, pool.WithKeepState())
		defer p.Close(ctx)
		l1, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		stale := l1.Runtime
		assert.Equal(t, int64(1), counter(t, l1))
		p.PutBack(l1)

		l2, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		defer p.PutBack(l2)
		require.Equal(t, uint64(1), p.Stats().Hits, "the same instance is reused")

		_, err = stale.Call(ctx, "counter")
		require.ErrorIs(t, err, runtime.ErrClosed)
		require.ErrorIs(t, stale.Reset(ctx), runtime.ErrClosed)
		_, err = stale.CallWasm(ctx, "counter")
		require.ErrorIs(t, err, runtime.ErrClosed)
		require.NoError(t, stale.Close(ctx), "closing a revoked handle only revokes it")
		// The next lease saw none of it and keeps its instance.
		assert.Equal(t, int64(2), counter(t, l2))
		assert.Equal(t, 1, p.Stats().Live)
	})
}

// TestPreRunFuncPanic: a panicking PreRunFunc is an error (a
// runtime.PanicError), the instance is closed, and the pool's counters stay
// right.
func TestPreRunFuncPanic(t *testing.T) {
	ctx := context.Background()
	forEachEngine(t, func(t *testing.T, engine string) {
		p := pool.New(2)
		defer p.Close(ctx)
		l, err := p.Runtime(ctx, engine, echoWasm, nil, pool.PreRunFunc(func(context.Context, *runtime.Runtime) error {
			panic("hook boom")
		}))
		require.Nil(t, l)
		require.ErrorIs(t, err, runtime.ErrHostPanic)
		require.ErrorContains(t, err, "hook boom")
		s := p.Stats()
		assert.Equal(t, 0, s.Live)
		assert.Equal(t, 0, s.Idle)
		assert.Equal(t, uint64(1), s.Discards)
		// The pool still works.
		l, err = p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		assert.Equal(t, int64(1), counter(t, l))
		p.PutBack(l)
		assert.Equal(t, 0, p.Stats().Live)
	})
}

// TestStaleHandleRacesWithNextLease: goroutines hammer a stale handle while
// the instance is leased again; none of their calls reaches it.
func TestStaleHandleRacesWithNextLease(t *testing.T) {
	ctx := context.Background()
	forEachEngine(t, func(t *testing.T, engine string) {
		p := pool.New(1, pool.WithKeepState())
		defer p.Close(ctx)
		l, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		stale := l.Runtime
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, _ = stale.Call(ctx, "counter")
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		p.PutBack(l)
		// From here on no stale call may succeed: counter counts every
		// call that reached the instance.
		l2, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		before := counter(t, l2)
		time.Sleep(20 * time.Millisecond)
		close(stop)
		wg.Wait()
		assert.Equal(t, before+1, counter(t, l2), "a stale handle reached the next lease's instance")
		p.PutBack(l2)
	})
}

// TestDefaultEngineAndCodeIdentity: an empty engine name is the default
// engine, like runtime.New; the same code slice passed again is found by
// identity, and equal code in another slice shares the key.
func TestDefaultEngineAndCodeIdentity(t *testing.T) {
	ctx := context.Background()
	p := pool.New(2)
	defer p.Close(ctx)
	l, err := p.Runtime(ctx, "", echoWasm, nil)
	require.NoError(t, err)
	assert.Equal(t, runtime.DefaultEngine(), l.Key().Engine)
	assert.Equal(t, runtime.DefaultEngine(), l.Runtime.Engine())
	p.PutBack(l)
	copied := append([]byte(nil), echoWasm...)
	l2, err := p.Runtime(ctx, runtime.DefaultEngine(), copied, nil)
	require.NoError(t, err)
	assert.Equal(t, l.Key(), l2.Key())
	p.PutBack(l2)
	s := p.Stats()
	assert.Equal(t, uint64(1), s.Hits)
	assert.Equal(t, uint64(1), s.Compiles)
}

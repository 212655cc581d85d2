//go:build wasmer && cgo

package wasmer

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// TestGCDuringCalls collects garbage in a loop while other goroutines
// instantiate, call (through host functions that re-enter the guest and
// allocate Go memory) and close instances. Nothing the adapter hands to C
// may be freed or moved under a running call: a mistake shows as a crash
// inside wasm_func_call, or as a wrong value. Run it with -race as well.
func TestGCDuringCalls(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	raw := compile(t, e, rawWAT, engine.CompileConfig{})

	d := 2 * time.Second
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	stop := make(chan struct{})
	var gcs atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	defer close(stop)

	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	var calls atomic.Int64
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := gcRound(m, raw, uint64(g)); err != nil {
					errs <- err
					return
				}
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d rounds, %d collections", calls.Load(), gcs.Load())
	require.Positive(t, gcs.Load())
}

// gcRound instantiates, calls and closes, dropping every reference it can
// as early as it can so that the collector has something to find.
func gcRound(m, raw engine.Module, k uint64) error {
	in, err := m.Instantiate(bg, hostFuncs(
		func(_ context.Context, _ engine.Caller, s []uint64) error {
			garbage := make([]byte, 1<<10) // make the collector busy
			s[0] = s[0]*2 + uint64(len(garbage)) - 1024
			return nil
		}, nil,
		func(ctx context.Context, c engine.Caller, s []uint64) error {
			runtime.GC()
			st := []uint64{s[0]}
			if err := c.Function("allocate").Call(ctx, st); err != nil {
				return err
			}
			if !c.Memory().Write(uint32(st[0]), []byte("gc")) {
				return errAssert("write")
			}
			s[0] = st[0]
			return nil
		}, nil, nil), engine.InstanceConfig{})
	if err != nil {
		return err
	}
	for i := range uint64(20) {
		stack := []uint64{i + k}
		if err := in.Function("call_double").Call(bg, stack); err != nil {
			return err
		}
		if stack[0] != uint64(uint32((i+k)*2)) {
			return errAssert("call_double")
		}
		stack = []uint64{8}
		if err := in.Function("call_reenter").Call(bg, stack); err != nil {
			return err
		}
		if b, ok := in.Memory().Read(uint32(stack[0]), 2); !ok || string(b) != "gc" {
			return errAssert("reenter")
		}
	}
	if err := in.Close(bg); err != nil {
		return err
	}
	// A function whose instance is reachable only through it.
	ri, err := raw.Instantiate(bg, nil, engine.InstanceConfig{})
	if err != nil {
		return err
	}
	add := ri.Function("sum_to")
	ri = nil
	stack := []uint64{100000}
	if err := add.Call(bg, stack); err != nil {
		return err
	}
	if stack[0] != 100000*100001/2 {
		return errAssert("sum_to")
	}
	return add.(*wrFunction).in.Close(bg)
}

type errAssert string

func (e errAssert) Error() string { return "wrong result: " + string(e) }

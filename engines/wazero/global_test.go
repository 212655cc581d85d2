package wazero

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	wz "github.com/tetratelabs/wazero"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// spinWasm is
//
//	(module
//	  (global (export "flag") (mut i32) (i32.const 0))
//	  (func (export "spin") (loop (br_if 0 (i32.eqz (global.get 0))))))
var spinWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
	0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x06, 0x06, 0x01, 0x7f, 0x01, 0x41,
	0x00, 0x0b, 0x07, 0x0f, 0x02, 0x04, 0x66, 0x6c, 0x61, 0x67, 0x03, 0x00,
	0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, 0x0a, 0x0c, 0x01, 0x0a, 0x00,
	0x03, 0x40, 0x23, 0x00, 0x45, 0x0d, 0x00, 0x0b, 0x0b,
}

// TestInterpretedGlobal checks that the adapter finds the value of an
// interpreted global (and only of an interpreted one), and that setting it
// from another goroutine stops a guest spinning on it, without a data race
// (go test -race).
func TestInterpretedGlobal(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		config func() wz.RuntimeConfig
	}{{"interpreter", wz.NewRuntimeConfigInterpreter}, {"default", wz.NewRuntimeConfig}} {
		t.Run(c.name, func(t *testing.T) {
			r := wz.NewRuntimeWithConfig(ctx, c.config())
			defer r.Close(ctx)
			mod, err := r.Instantiate(ctx, spinWasm)
			require.NoError(t, err)
			g := mod.ExportedGlobal("flag")
			raw := interpretedValue(g)
			if c.name == "interpreter" {
				require.NotNil(t, raw, "the value of an interpreted global is not found: has wazero changed its global types?")
			} else if os.Getenv(InterpreterEnv) != "1" {
				// NewRuntimeConfig picks the compiler here (amd64, arm64).
				assert.Nil(t, raw)
			}
		})
	}

	saved := newRuntimeConfig
	t.Cleanup(func() { newRuntimeConfig = saved })
	for _, cfg := range []func() wz.RuntimeConfig{wz.NewRuntimeConfigInterpreter, wz.NewRuntimeConfig} {
		newRuntimeConfig = cfg
		e, err := driver{}.Open(engine.Config{})
		require.NoError(t, err)
		m, err := e.Compile(ctx, spinWasm, engine.CompileConfig{})
		require.NoError(t, err)
		inst, err := m.Instantiate(ctx, nil, engine.InstanceConfig{})
		require.NoError(t, err)
		flag := inst.Global("flag")
		flag.Set(7)
		require.Equal(t, uint64(7), flag.Get())
		flag.Set(0)
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(10 * time.Millisecond)
			flag.Set(1)
		}()
		require.NoError(t, inst.Function("spin").Call(ctx, make([]uint64, 1)))
		<-done
		require.Equal(t, uint64(1), flag.Get())
		require.NoError(t, inst.Close(ctx))
		require.NoError(t, m.Close(ctx))
		require.NoError(t, e.Close(ctx))
	}
}

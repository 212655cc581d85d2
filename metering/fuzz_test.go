package metering

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzInstrument checks that for any input Instrument either returns a
// module that wazero compiles or one of its documented errors, and never
// panics. Seeds: the conformance fixtures up to 1 MiB, the test modules of
// this package and the committed corpus in testdata/fuzz/FuzzInstrument.
//
// The multi-megabyte Go guests (conformance/fixtures/go) are not seeds:
// wazero needs seconds to compile each mutation of them, which stalls the
// fuzzer; TestFixturesInstrumentAndCompile and TestGoModule cover them.
func FuzzInstrument(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		if b := readFile(f, file); len(b) <= 1<<20 {
			f.Add(b)
		}
	}
	for _, m := range seedModules() {
		f.Add(m)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, b []byte) {
		// The input's length picks one of five configurations: metered,
		// with yield checkpoints, limits only with a table limit, metered
		// with table and stack limits, limits only with yield checkpoints
		// (counting instructions).
		cfg := Config{MaxMemoryPages: 64}
		switch len(b) % 5 {
		case 1:
			cfg.YieldInterval = 1000
		case 2:
			cfg.LimitsOnly, cfg.MaxTableElements = true, 1000
		case 3:
			cfg.MaxTableElements, cfg.MaxStackSlots = 1000, 100
		case 4:
			cfg.LimitsOnly, cfg.YieldInterval, cfg.MaxTableElements = true, 1000, 1000
		}
		res, err := Instrument(b, cfg)
		if err != nil {
			if !isDocumentedError(err) {
				t.Fatalf("undocumented error type %T: %v", err, err)
			}
			return
		}
		cm, err := rt.CompileModule(ctx, res.Module)
		if err != nil {
			t.Fatalf("instrumented module does not compile: %v", err)
		}
		cm.Close(ctx)
		// An instrumented module is rejected, not instrumented twice.
		if _, err := Instrument(res.Module, Config{}); !errors.Is(err, ErrReservedName) {
			t.Fatalf("re-instrumenting: got %v, want ErrReservedName", err)
		}
	})
}

func isDocumentedError(err error) bool {
	var me *ModuleError
	var fe *UnsupportedFeatureError
	var ne *NondeterministicError
	var le *MemoryLimitError
	var te *TableLimitError
	switch {
	case errors.As(err, &me):
		return me.Kind == ErrMalformed || me.Kind == ErrInvalid || me.Kind == ErrTooLarge || me.Kind == ErrReservedName
	case errors.As(err, &fe), errors.As(err, &ne), errors.As(err, &le), errors.As(err, &te):
		return true
	}
	return false
}

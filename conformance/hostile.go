package conformance

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func hostileCases() []Case {
	bad := []struct {
		export string
		want   error
	}{
		{"ptr_oob", abi.ErrOutOfBounds},
		{"ptr_at_end", abi.ErrOutOfBounds},
		{"len_negative", abi.ErrInvalidLength},
		{"len_huge", abi.ErrOutOfBounds},
		{"len_past_end", abi.ErrOutOfBounds},
		{"tag_unknown", abi.ErrUnknownTag},
		{"tag_zero", abi.ErrUnknownTag},
		{"bad_bool", abi.ErrInvalidBool},
		{"wrong_width", abi.ErrInvalidLength},
		{"list_count_huge", abi.ErrInvalidLength},
		{"deep_nesting", abi.ErrTooDeep},
		{"map_unsorted", abi.ErrNonCanonical},
		{"map_dup", abi.ErrNonCanonical},
		{"struct_dup", abi.ErrNonCanonical},
	}
	var cs []Case
	for _, b := range bad {
		cs = append(cs, Case{Name: "hostile/result/" + b.export, Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/hostile.wasm", nil)
			_, err := rt.Call(context.Background(), b.export)
			require.ErrorIs(t, err, runtime.ErrABI)
			require.ErrorIs(t, err, b.want)
			// Typed decoding rejects it the same way.
			var s string
			err2 := rt.CallInto(context.Background(), &s, b.export)
			require.ErrorIs(t, err2, runtime.ErrABI)
			require.ErrorIs(t, err2, b.want)
			return ErrorKind(err)
		}})
	}
	cs = append(cs,
		errCase("hostile/allocate-missing", "wat/no_allocate.wasm", "f", []error{runtime.ErrAllocate, runtime.ErrABI}, "x"),
		Case{Name: "hostile/allocate-traps", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/alloc_trap.wasm", nil)
			_, err := rt.Call(context.Background(), "f", "x")
			require.ErrorIs(t, err, runtime.ErrAllocate)
			require.ErrorIs(t, err, runtime.ErrTrap)
			var te *runtime.TrapError
			require.ErrorAs(t, err, &te)
			require.Equal(t, runtime.TrapUnreachable, te.Code)
			return ErrorKind(err)
		}},
		errCase("hostile/allocate-out-of-bounds", "wat/alloc_oob.wasm", "f", []error{runtime.ErrAllocate, runtime.ErrABI}, "x"),
		errCase("hostile/no-memory", "wat/no_memory.wasm", "f", []error{runtime.ErrABI, abi.ErrOutOfBounds}),
	)
	for _, b := range []struct {
		export string
		want   error
	}{
		{"oob_arg", abi.ErrOutOfBounds},
		{"bad_tag_arg", abi.ErrUnknownTag},
		{"huge_len_arg", abi.ErrOutOfBounds},
		{"wrong_type_arg", abi.ErrTypeMismatch},
	} {
		cs = append(cs, Case{Name: "hostile/host-arg/" + b.export, Run: func(t *testing.T, env *Env) string {
			called := false
			reg := runtime.NewHostAPIRegistry()
			require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { called = true; return s }))
			rt := env.New(t, "wat/bad_host_args.wasm", reg)
			_, err := rt.Call(context.Background(), b.export)
			require.ErrorIs(t, err, runtime.ErrABI)
			require.ErrorIs(t, err, b.want)
			require.False(t, called, "the host function must not run on a bad argument")
			return ErrorKind(err)
		}})
	}
	return cs
}

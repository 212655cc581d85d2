package main

import (
	"errors"

	"github.com/aspect-rt/aspect-runtime/internal/enginefuzz"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// kinds maps the runtime's sentinels to error kinds, most specific first:
// a GasError also matches nothing else, a TrapError matches ErrTrap.
var kinds = []struct {
	err  error
	kind string
}{
	{runtime.ErrOutOfGas, enginefuzz.KindOutOfGas},
	{runtime.ErrCallDepth, enginefuzz.KindCallDepth},
	{runtime.ErrInterrupted, enginefuzz.KindInterrupted},
	{runtime.ErrCompile, "compile"},
	{runtime.ErrLink, "link"},
	{runtime.ErrMissingExport, "missing_export"},
	{runtime.ErrSignature, "signature"},
	{runtime.ErrArgCount, "arg_count"},
	{runtime.ErrInvalidArgument, "invalid_argument"},
	{runtime.ErrAbort, "abort"},
	{runtime.ErrHostPanic, "host_panic"},
	{runtime.ErrHost, "host"},
	{runtime.ErrAllocate, "allocate"},
	{runtime.ErrABI, "abi"},
	{runtime.ErrEngine, "engine"},
	{runtime.ErrClosed, "closed"},
	{runtime.ErrUnknownEngine, "unknown_engine"},
}

// errorKind classifies an error returned by the runtime into an
// engine-neutral kind with errors.Is and errors.As against the runtime's
// sentinels, never by its message: "" for nil, "trap:<code>" for a
// *runtime.TrapError (the engine-neutral TrapCode), the kinds above, and
// enginefuzz.KindUnclassified for an error that matches no sentinel (always a finding:
// the runtime promises that every error matches one).
func errorKind(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range kinds[:3] {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	var te *runtime.TrapError
	if errors.As(err, &te) {
		return "trap:" + te.Code.String()
	}
	if errors.Is(err, runtime.ErrTrap) {
		return "trap:?"
	}
	for _, k := range kinds[3:] {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return enginefuzz.KindUnclassified
}

// errorDetail is the error's message for people, with the engine's own
// message for a trap (which the runtime's message leaves out). Never
// compared.
func errorDetail(err error) string {
	var te *runtime.TrapError
	if errors.As(err, &te) && te.Err != nil {
		return err.Error() + " (engine: " + te.Err.Error() + ")"
	}
	return err.Error()
}

package limitstest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var (
	errDepth    = errors.New("limitstest: call_depth_exceeded called")
	errOutOfGas = errors.New("limitstest: out_of_gas called")
)

// engines returns the names of the engines linked into the test binary.
func engines(t testing.TB) []string {
	names := engine.Drivers()
	require.NotEmpty(t, names)
	return names
}

// openEngine opens the engine name for the test.
func openEngine(t testing.TB, name string) engine.Engine {
	t.Helper()
	d, ok := engine.Lookup(name)
	require.True(t, ok, "engine %s not linked", name)
	e, err := d.Open(engine.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// compile compiles wasm on e, closing it with the test.
func compile(t testing.TB, e engine.Engine, wasm []byte) engine.Module {
	t.Helper()
	m, err := e.Compile(context.Background(), wasm, engine.CompileConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// host satisfies the imports metering injects: call_depth_exceeded and
// out_of_gas fail with errDepth and errOutOfGas, yield returns.
func host(m engine.Module) ([]engine.HostFunc, error) {
	var hs []engine.HostFunc
	for _, imp := range m.Imports() {
		if imp.Kind != engine.ExternFunc || imp.Module != metering.ImportModule {
			return nil, fmt.Errorf("unexpected import %s.%s", imp.Module, imp.Name)
		}
		var err error
		switch imp.Name {
		case metering.CallDepthExceededImport:
			err = errDepth
		case metering.OutOfGasImport:
			err = errOutOfGas
		}
		hs = append(hs, engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
			Call: func(context.Context, engine.Caller, []uint64) error { return err }})
	}
	return hs, nil
}

// instance is an instance of a module, instrumented or not.
type instance struct {
	inst       engine.Instance
	depth, gas engine.Global
}

func instantiate(t testing.TB, m engine.Module) *instance {
	t.Helper()
	hs, err := host(m)
	require.NoError(t, err)
	inst, err := m.Instantiate(context.Background(), hs, engine.InstanceConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { inst.Close(context.Background()) })
	return &instance{inst: inst, depth: inst.Global(metering.CallDepthExport), gas: inst.Global(metering.GasCounterExport)}
}

// call resets the injected counters (unlimited gas) and calls export name.
func (in *instance) call(name string, args ...uint64) ([]uint64, error) {
	if in.depth != nil {
		in.depth.Set(0)
	}
	if in.gas != nil {
		in.gas.Set(math.MaxInt64)
	}
	f := in.inst.Function(name)
	if f == nil {
		return nil, fmt.Errorf("no export %s", name)
	}
	ft := f.Type()
	stack := make([]uint64, max(len(ft.Params), len(ft.Results), 1))
	copy(stack, args)
	if err := f.Call(context.Background(), stack); err != nil {
		return nil, err
	}
	return stack[:len(ft.Results)], nil
}

// childEnv is the environment variable that makes the test binary, run
// again as a child process, do one piece of work in TestChild.
const childEnv = "ASPECT_LIMITSTEST_CHILD"

// runChild runs TestChild in a child process (a re-run of the test binary)
// with childEnv set to job, and returns its standard output and error and
// its exit error (nil if it passed). Work that may crash the process (an
// engine that does not survive its own stack overflow) runs there.
func runChild(t testing.TB, job string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+job)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// TestChild does the work of a child process started by runChild; run
// directly, it does nothing.
func TestChild(t *testing.T) {
	job := os.Getenv(childEnv)
	if job == "" {
		return
	}
	kind, arg, _ := strings.Cut(job, ":")
	switch kind {
	case "probe":
		probeChild(t, arg)
	case "defaults":
		defaultsChild(t, arg)
	case "tables":
		tablesChild(t, arg)
	default:
		t.Fatalf("unknown child job %q", job)
	}
}

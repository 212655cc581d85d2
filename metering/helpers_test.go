package metering

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Value types for the builder.
const (
	i32 = tI32
	i64 = tI64
	f32 = tF32
	f64 = tF64
)

var (
	errOutOfGas   = errors.New("test: out of gas")
	errDepthLimit = errors.New("test: call depth exceeded")
)

// wmod builds binary modules for tests.
type wmod struct {
	types, imports, tables, globals, exports, elems, codes, datas, customs [][]byte
	funcs                                                                  []uint32
	numImportedFuncs                                                       uint32
	mem                                                                    []byte
	start                                                                  *uint32
	dataCount                                                              bool
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u32(v uint32) []byte { return appendU32(nil, v) }
func s64(v int64) []byte  { return appendS64(nil, v) }
func str(s string) []byte { return appendName(nil, s) }
func vecOf(items ...[]byte) []byte {
	return cat(u32(uint32(len(items))), cat(items...))
}

// Instructions.
func i32c(v int32) []byte       { return cat([]byte{0x41}, s64(int64(v))) }
func i64c(v int64) []byte       { return cat([]byte{0x42}, s64(v)) }
func lget(i uint32) []byte      { return cat([]byte{0x20}, u32(i)) }
func lset(i uint32) []byte      { return cat([]byte{0x21}, u32(i)) }
func ltee(i uint32) []byte      { return cat([]byte{0x22}, u32(i)) }
func gget(i uint32) []byte      { return cat([]byte{0x23}, u32(i)) }
func gset(i uint32) []byte      { return cat([]byte{0x24}, u32(i)) }
func call(f uint32) []byte      { return cat([]byte{0x10}, u32(f)) }
func br(l uint32) []byte        { return cat([]byte{0x0c}, u32(l)) }
func brIf(l uint32) []byte      { return cat([]byte{0x0d}, u32(l)) }
func op(b ...byte) []byte       { return b }
func misc(sub uint32) []byte    { return cat([]byte{0xfc}, u32(sub)) }
func block(bt byte) []byte      { return []byte{0x02, bt} }
func loop(bt byte) []byte       { return []byte{0x03, bt} }
func ifb(bt byte) []byte        { return []byte{0x04, bt} }
func refFunc(f uint32) []byte   { return cat([]byte{0xd2}, u32(f)) }
func callInd(t uint32) []byte   { return cat([]byte{0x11}, u32(t), u32(0)) }
func memarg(a, o uint32) []byte { return cat(u32(a), u32(o)) }

var (
	end   = []byte{0x0b}
	elseb = []byte{0x05}
	ret   = []byte{0x0f}
	unr   = []byte{0x00}
	drop  = []byte{0x1a}
)

const empty = 0x40

func (w *wmod) typ(params, results []byte) uint32 {
	w.types = append(w.types, cat([]byte{0x60}, u32(uint32(len(params))), params, u32(uint32(len(results))), results))
	return uint32(len(w.types) - 1)
}

func (w *wmod) importFunc(mod, name string, t uint32) uint32 {
	if len(w.funcs) > 0 {
		panic("imports must come first")
	}
	w.imports = append(w.imports, cat(str(mod), str(name), []byte{0}, u32(t)))
	w.numImportedFuncs++
	return w.numImportedFuncs - 1
}

// fn adds a function; locals is the encoded local declarations (nil: none).
func (w *wmod) fn(t uint32, locals []byte, code ...[]byte) uint32 {
	if locals == nil {
		locals = []byte{0}
	}
	w.funcs = append(w.funcs, t)
	w.codes = append(w.codes, cat(locals, cat(code...), end))
	return w.numImportedFuncs + uint32(len(w.funcs)) - 1
}

func (w *wmod) export(name string, kind byte, idx uint32) {
	w.exports = append(w.exports, cat(str(name), []byte{kind}, u32(idx)))
}

func (w *wmod) memory(min uint32, max ...uint32) {
	if len(max) > 0 {
		w.mem = cat([]byte{1}, u32(min), u32(max[0]))
	} else {
		w.mem = cat([]byte{0}, u32(min))
	}
}

func (w *wmod) global(t byte, mut bool, init []byte) uint32 {
	m := byte(0)
	if mut {
		m = 1
	}
	w.globals = append(w.globals, cat([]byte{t, m}, init, end))
	return uint32(len(w.globals) - 1)
}

func locals(groups ...any) []byte {
	b := u32(uint32(len(groups) / 2))
	for i := 0; i < len(groups); i += 2 {
		b = append(b, u32(uint32(groups[i].(int)))...)
		b = append(b, groups[i+1].(byte))
	}
	return b
}

func (w *wmod) bytes() []byte {
	out := append([]byte{}, wasmHeader...)
	sec := func(id byte, items [][]byte) {
		if len(items) == 0 {
			return
		}
		out = appendSection(out, id, vecOf(items...))
	}
	sec(1, w.types)
	sec(2, w.imports)
	var fs [][]byte
	for _, t := range w.funcs {
		fs = append(fs, u32(t))
	}
	sec(3, fs)
	sec(4, w.tables)
	if w.mem != nil {
		sec(5, [][]byte{w.mem})
	}
	sec(6, w.globals)
	sec(7, w.exports)
	if w.start != nil {
		out = appendSection(out, 8, u32(*w.start))
	}
	sec(9, w.elems)
	if w.dataCount {
		out = appendSection(out, 12, u32(uint32(len(w.datas))))
	}
	var cs [][]byte
	for _, c := range w.codes {
		cs = append(cs, cat(u32(uint32(len(c))), c))
	}
	sec(10, cs)
	sec(11, w.datas)
	for _, c := range w.customs {
		out = appendSection(out, 0, c)
	}
	return out
}

// env is a wazero runtime with the "aspect" host module instantiated.
type env struct {
	ctx context.Context
	rt  wazero.Runtime
}

func newEnv(t testing.TB) *env {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	_, err := rt.NewHostModuleBuilder(ImportModule).
		NewFunctionBuilder().WithFunc(onOutOfGas).Export(OutOfGasImport).
		NewFunctionBuilder().WithFunc(func() { panic(errDepthLimit) }).Export(CallDepthExceededImport).
		NewFunctionBuilder().WithFunc(onYield).Export(YieldImport).
		Instantiate(ctx)
	require.NoError(t, err)
	_, err = rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(x int32) int32 { return x + 1 }).Export("add1").
		Instantiate(ctx)
	require.NoError(t, err)
	return &env{ctx: ctx, rt: rt}
}

// compile checks that wazero compiles b.
func (e *env) compile(t testing.TB, b []byte) wazero.CompiledModule {
	t.Helper()
	cm, err := e.rt.CompileModule(e.ctx, b)
	require.NoError(t, err)
	return cm
}

func (e *env) instantiate(t testing.TB, b []byte) api.Module {
	t.Helper()
	mod, err := e.rt.InstantiateWithConfig(e.ctx, b, wazero.NewModuleConfig().WithName(""))
	require.NoError(t, err)
	t.Cleanup(func() { mod.Close(e.ctx) })
	return mod
}

// instrument instruments b with cfg and checks that wazero compiles it.
func instrument(t testing.TB, b []byte, cfg Config) *Result {
	t.Helper()
	res, err := Instrument(b, cfg)
	require.NoError(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	_, err = rt.CompileModule(ctx, res.Module)
	require.NoError(t, err, "instrumented module does not compile")
	return res
}

// metered is an instantiated instrumented module.
type metered struct {
	mod   api.Module
	gas   api.MutableGlobal
	depth api.MutableGlobal
	ctx   context.Context
}

func (e *env) metered(t testing.TB, res *Result) *metered {
	mod := e.instantiate(t, res.Module)
	return &metered{
		mod:   mod,
		gas:   mod.ExportedGlobal(GasCounterExport).(api.MutableGlobal),
		depth: mod.ExportedGlobal(CallDepthExport).(api.MutableGlobal),
		ctx:   e.ctx,
	}
}

// call runs export name with gas; it returns the results, the gas used and
// the error.
func (m *metered) call(name string, gas int64, args ...uint64) ([]uint64, int64, error) {
	m.gas.Set(uint64(gas))
	m.depth.Set(0)
	out, err := m.mod.ExportedFunction(name).Call(m.ctx, args...)
	return out, gas - int64(m.gas.Get()), err
}

// fixtureFiles lists ../conformance/fixtures/**/*.wasm.
func fixtureFiles(t testing.TB) []string {
	var files []string
	err := filepath.WalkDir("../conformance/fixtures", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".wasm") {
			files = append(files, path)
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func readFile(t testing.TB, name string) []byte {
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return b
}

// seedModules are the hand-built test modules (also fuzz seeds).
func seedModules() [][]byte {
	return [][]byte{shiftModule(), recModule(), growModule(10), bulkModule(), miscModule(), hashModule(),
		globalsModule(), tableModule(i32c(0), op(0xd0, 0x70), op(0x26, 0))}
}

type wasiRun struct {
	stdout string
	used   int64
	err    error
}

// wasiEnv is a runtime with WASI and the aspect imports, and a compiled
// instrumented WASI command.
type wasiEnv struct {
	*env
	cm wazero.CompiledModule
	n  int
}

func newWASIEnv(t testing.TB, res *Result) *wasiEnv {
	e := newEnv(t)
	wasi_snapshot_preview1.MustInstantiate(e.ctx, e.rt)
	return &wasiEnv{env: e, cm: e.compile(t, res.Module)}
}

// run runs the command's _start with gas.
func (w *wasiEnv) run(t testing.TB, gas int64) wasiRun {
	var stdout bytes.Buffer
	w.n++
	mod, err := w.rt.InstantiateModule(w.ctx, w.cm,
		wazero.NewModuleConfig().WithStdout(&stdout).WithStartFunctions().WithName(fmt.Sprint("guest", w.n)))
	require.NoError(t, err)
	g := mod.ExportedGlobal(GasCounterExport).(api.MutableGlobal)
	g.Set(uint64(gas))
	_, err = mod.ExportedFunction("_start").Call(w.ctx)
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	return wasiRun{stdout: stdout.String(), used: gas - int64(g.Get()), err: err}
}

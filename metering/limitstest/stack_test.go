package limitstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// frameSizes are the numbers of values live across the recursive call of
// the frames measured and tested: 0, then 10 to 10000 i64 values.
var frameSizes = []int{0, 10, 100, 700, 2000, 10000}

// frames lists the recursion modules measured and tested: each frame size
// with its values in locals and, but for 0, on the operand stack.
func frames() []struct {
	n    int
	kind frameKind
} {
	var fs []struct {
		n    int
		kind frameKind
	}
	for _, n := range frameSizes {
		fs = append(fs, struct {
			n    int
			kind frameKind
		}{n, inLocals})
		if n > 0 {
			fs = append(fs, struct {
				n    int
				kind frameKind
			}{n, onStack}, struct {
				n    int
				kind frameKind
			}{n, recomputed}, struct {
				n    int
				kind frameKind
			}{n, hoisted})
		}
	}
	return fs
}

// frameSlots returns what one activation of recursionModule(n, kind)'s
// function costs against Config.MaxStackSlots.
func frameSlots(t testing.TB, n int, kind frameKind) uint64 {
	res, err := metering.Instrument(recursionModule(n, kind), metering.Config{LimitsOnly: true})
	require.NoError(t, err)
	return res.Functions[0].StackSlots
}

// measureEnv, set to 1, enables TestNativeStackLimits.
const measureEnv = "ASPECT_MEASURE_STACK"

// capSlots bounds the measurement: an engine that survives recursion
// holding this many slots is reported as surviving at least that much.
const capSlots = 1 << 22

// TestNativeStackLimits measures, on every engine linked into the binary,
// how deep recursionModule recurses, unmetered, before the engine's own
// stack gives out, for every frame of frames(), and how it fails there (a
// trap, or a crash of the whole process). It is the measurement behind
// metering.DefaultMaxStackSlots (README.md of package metering, "Stack
// limit"): rerun it on every build to check the margin, e.g.
//
//	ASPECT_MEASURE_STACK=1 go test -count=1 -v -run NativeStackLimits ./metering/limitstest
//	ASPECT_MEASURE_STACK=1 go test -tags wasmer -count=1 -v -run NativeStackLimits ./metering/limitstest
//
// Every attempt runs in a child process, since an engine may crash (wasmer
// does on large frames): the child bisects the depth and reports each
// attempt before making it, and when it dies the parent records the depth
// it died at as a failure and starts a new child on the rest of the range.
func TestNativeStackLimits(t *testing.T) {
	if os.Getenv(measureEnv) != "1" {
		t.Skip("a measurement of a few minutes, not a check: set " + measureEnv + "=1 to run it")
	}
	for _, eng := range engines(t) {
		t.Run(eng, func(t *testing.T) {
			var lines []string
			for _, f := range frames() {
				slots := frameSlots(t, f.n, f.kind)
				ok, failDepth, how := measure(t, eng, f.n, f.kind, slots)
				act := ok + 1 // run(d) nests d+1 activations
				allowed := min(uint64(metering.DefaultMaxCallDepth), metering.DefaultMaxStackSlots/slots)
				line := fmt.Sprintf("%-8s %6d %-10s slots/frame %6d: survives %8d activations = %9d slots (defaults allow %4d: margin %.1fx)",
					eng, f.n, f.kind, slots, act, act*slots, allowed, float64(act)/float64(allowed))
				if failDepth > 0 {
					line += fmt.Sprintf("; at %d activations: %s", failDepth+1, how)
				} else {
					line += "; no failure up to the measurement cap"
				}
				t.Log(line)
				lines = append(lines, line)
			}
			t.Log("summary:\n" + strings.Join(lines, "\n"))
		})
	}
}

// measure bisects the deepest recursion of recursionModule(n, kind) that
// engine eng survives. ok is the largest depth that returned normally;
// failDepth the smallest that did not (0 if none up to capSlots), and how
// it failed.
func measure(t *testing.T, eng string, n int, kind frameKind, slots uint64) (ok, failDepth uint64, how string) {
	limit := uint64(capSlots)/max(slots, 1) + 1
	for attempt := 0; attempt < 64; attempt++ {
		stdout, stderr, err := runChild(t, fmt.Sprintf("probe:%s,%d,%s,%d,%d,%d", eng, n, kind, ok, failDepth, limit))
		var tried uint64
		finished := false
		sc := bufio.NewScanner(strings.NewReader(stdout))
		for sc.Scan() {
			f := strings.SplitN(sc.Text(), " ", 4)
			if len(f) < 2 || f[0] != "probe" {
				continue
			}
			var d uint64
			if len(f) > 2 {
				d, _ = strconv.ParseUint(f[2], 10, 64)
			}
			switch f[1] {
			case "try":
				tried = d
			case "ok":
				ok, tried = max(ok, d), 0
			case "fail":
				if failDepth == 0 || d < failDepth {
					failDepth = d
					how = "trap: " + strings.Join(f[3:], " ")
				}
				tried = 0
			case "done":
				finished = true
			}
		}
		if finished {
			return ok, failDepth, how
		}
		if err == nil || tried == 0 {
			t.Fatalf("child ended without a result: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		// The child died trying depth tried.
		if failDepth == 0 || tried < failDepth {
			failDepth = tried
			how = "CRASH (" + err.Error() + "): " + crashLine(stderr)
		}
	}
	t.Fatalf("measurement of %s %d %s did not converge", eng, n, kind)
	return
}

// crashLine picks the line of a crashed child's stderr that says why.
func crashLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "SIG") || strings.Contains(l, "fatal") || strings.Contains(l, "memory allocation") || strings.Contains(l, "overflow") {
			return strings.TrimSpace(l)
		}
	}
	if len(stderr) > 200 {
		stderr = stderr[:200]
	}
	return strings.TrimSpace(stderr)
}

// probeChild bisects, in a child process, the recursion depth of one frame
// on one engine between lo (known to return) and hi (known to fail, 0 if
// none yet, then doubling up to limit), printing every attempt before it
// makes it.
func probeChild(t *testing.T, arg string) {
	p := strings.Split(arg, ",")
	require.Len(t, p, 6)
	eng, kind := p[0], frameKind(p[2])
	num := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		return v
	}
	n, lo, hi, limit := int(num(p[1])), num(p[3]), num(p[4]), num(p[5])
	e := openEngine(t, eng)
	m := compile(t, e, recursionModule(n, kind))
	for {
		var d uint64
		switch {
		case hi == 0 && lo >= limit:
			fmt.Println("probe done")
			return
		case hi == 0:
			d = min(max(2*lo, 16), limit)
		case hi-lo <= max(1, lo/512):
			fmt.Println("probe done")
			return
		default:
			d = (lo + hi) / 2
		}
		fmt.Printf("probe try %d\n", d)
		hs, err := host(m)
		require.NoError(t, err)
		inst, err := m.Instantiate(context.Background(), hs, engine.InstanceConfig{})
		require.NoError(t, err)
		in := &instance{inst: inst}
		_, err = in.call("run", d)
		inst.Close(context.Background())
		if err == nil {
			fmt.Printf("probe ok %d\n", d)
			lo = d
		} else {
			fmt.Printf("probe fail %d %s\n", d, strings.ReplaceAll(err.Error(), "\n", " "))
			hi = d
		}
	}
}

// TestStackLimitDefaults checks the default limits (DefaultMaxCallDepth,
// DefaultMaxStackSlots) on every engine, metered, with LimitsOnly and with
// LimitsOnly and yield checkpoints (an interval of 1: a yield at every
// function entry), for
// every frame of frames(): the deepest recursion they allow returns
// normally, one activation more and unbounded recursion fail with
// call_depth_exceeded — never with the engine's own stack overflow, never
// by crashing the process. Each engine runs in a child process, so that a
// crash fails the test instead of killing it.
func TestStackLimitDefaults(t *testing.T) {
	for _, eng := range engines(t) {
		t.Run(eng, func(t *testing.T) {
			stdout, stderr, err := runChild(t, "defaults:"+eng)
			if err != nil {
				t.Fatalf("child failed: %v\n%s\n%s", err, stdout, stderr)
			}
		})
	}
}

// defaultsChild is TestStackLimitDefaults on one engine.
func defaultsChild(t *testing.T, eng string) {
	e := openEngine(t, eng)
	for _, f := range frames() {
		for _, cfg := range []metering.Config{{}, {LimitsOnly: true}, {LimitsOnly: true, YieldInterval: 1}} {
			t.Run(fmt.Sprintf("%s/%d-%s/limitsOnly=%v/yield=%d", eng, f.n, f.kind, cfg.LimitsOnly, cfg.YieldInterval), func(t *testing.T) {
				res, err := metering.Instrument(recursionModule(f.n, f.kind), cfg)
				require.NoError(t, err)
				slots := res.Functions[0].StackSlots
				allowed := min(uint64(metering.DefaultMaxCallDepth), metering.DefaultMaxStackSlots/slots)
				in := instantiate(t, compile(t, e, res.Module))
				_, err = in.call("run", allowed-1)
				require.NoError(t, err, "%d activations of %d slots", allowed, slots)
				assert.Zero(t, in.depth.Get(), "released on return")
				for _, d := range []uint64{allowed, 1<<31 - 1} {
					_, err = in.call("run", d)
					require.Error(t, err)
					require.True(t, errors.Is(err, errDepth), "run(%d): %v", d, err)
				}
			})
		}
	}
}

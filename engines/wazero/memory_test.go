//go:build unix

package wazero_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/engines/wazero"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// TestMemoryGrowsInPlace: a linear memory grows without moving (wazero's
// own slice-backed memory is re-allocated and copied at every grow).
func TestMemoryGrowsInPlace(t *testing.T) {
	e := openEngine(t)
	inst := instantiate(t, compile(t, e, "grow.wasm", engine.CompileConfig{}), nil)
	mem := inst.Memory()
	before, ok := mem.Read(0, 1)
	require.True(t, ok)
	got, err := call(t, inst, "grow", 100)
	require.NoError(t, err)
	require.Equal(t, []uint64{101}, got)
	after, ok := mem.Read(0, 1)
	require.True(t, ok)
	assert.Equal(t, unsafe.Pointer(&before[0]), unsafe.Pointer(&after[0]), "the memory moved when it grew")
	assert.Equal(t, uint32(101*65536), mem.Size())
	last, ok := mem.Read(100*65536, 1)
	require.True(t, ok)
	assert.Equal(t, byte(1), last[0])
}

// TestMemoryGrowthRSS: a guest growing its memory page by page to 1 GiB,
// touching one byte per page, costs the process about the pages it touched,
// not several times its memory (it took 14 GiB of RSS to reach 4 GiB with
// wazero's own allocator). Measured in a child process.
func TestMemoryGrowthRSS(t *testing.T) {
	if os.Getenv("ASPECT_WAZERO_GROW_CHILD") == "1" {
		e := openEngine(t)
		inst := instantiate(t, compile(t, e, "grow.wasm", engine.CompileConfig{}), nil)
		base := hwm(t)
		got, err := call(t, inst, "grow", 16383)
		require.NoError(t, err)
		require.Equal(t, []uint64{16384}, got)
		os.Stdout.WriteString("rss-growth-kib " + strconv.Itoa(hwm(t)-base) + "\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryGrowthRSS$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ASPECT_WAZERO_GROW_CHILD=1", wazero.InterpreterEnv+"=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	_, after, ok := strings.Cut(string(out), "rss-growth-kib ")
	require.True(t, ok, "%s", out)
	kib, err := strconv.Atoi(strings.Fields(after)[0])
	require.NoError(t, err)
	// 16,384 touched pages of 4 KiB are 64 MiB; the guest's memory is 1 GiB.
	assert.Less(t, kib, 256<<10, "growing to 1 GiB raised the peak RSS by %d KiB", kib)
}

// hwm is the process's peak resident set size in KiB.
func hwm(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestMemoryReusedZeroed: a closed instance leaves its memory to the next
// instance of the same maximum size (no page faults for the pages it had
// touched), and nothing it wrote is visible there: the next instance sees
// a zeroed memory, also beyond its current size when it grows.
func TestMemoryReusedZeroed(t *testing.T) {
	e := openEngine(t)
	mod := compile(t, e, "grow.wasm", engine.CompileConfig{})
	first := instantiate(t, mod, nil)
	_, err := call(t, first, "grow", 20)
	require.NoError(t, err)
	mem := first.Memory()
	secret := []byte("left by the previous instance")
	for _, off := range []uint32{0, 4096, 65536 + 17, 20*65536 - uint32(len(secret))} {
		require.True(t, mem.Write(off, secret))
	}
	b, ok := mem.Read(0, 1)
	require.True(t, ok)
	base := unsafe.Pointer(&b[0])
	require.NoError(t, first.Close(context.Background()))

	second := instantiate(t, mod, nil)
	mem = second.Memory()
	b, ok = mem.Read(0, mem.Size())
	require.True(t, ok)
	assert.Equal(t, base, unsafe.Pointer(&b[0]), "the closed instance's memory was not reused")
	assert.NotContains(t, string(b), "previous instance", "before growing")
	_, err = call(t, second, "grow", 20)
	require.NoError(t, err)
	b, ok = mem.Read(0, mem.Size())
	require.True(t, ok)
	assert.NotContains(t, string(b), "previous instance", "after growing")
}

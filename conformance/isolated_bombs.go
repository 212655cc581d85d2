package conformance

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Issue 13: resource bombs. Each runs in its own child process, so the
// process's peak resident set (VmHWM) measures the guest alone; the default
// limits must stop it with the growth under twice the limit.
func isolatedBombCases() []IsolatedCase {
	return []IsolatedCase{
		{
			// A guest filling its memory page by page: stopped at
			// runtime.DefaultMemoryLimitPages (memory.grow returns -1), the
			// peak RSS growth under twice the limit (wazero used to copy
			// the whole memory at every grow: 14 GiB of RSS for 4 GiB).
			Name: "bombs/memory-fill-to-the-default-limit",
			Want: fmt.Sprintf("pages %d; rss under 2x the limit", runtime.DefaultMemoryLimitPages),
			Run: func(t *testing.T, env *Env) string {
				rt := mustFixtureRuntime(t, env, "wat/iso_bombs.wasm", nil)
				base := peakRSS(t)
				res, err := rt.CallWasm(context.Background(), "fill_memory")
				if err != nil {
					return ErrorKind(err)
				}
				grew := peakRSS(t) - base
				closeKind(rt)
				limit := int64(runtime.DefaultMemoryLimitPages) * 65536
				verdict := "rss under 2x the limit"
				if grew >= 2*limit*raceFactor {
					verdict = fmt.Sprintf("rss grew by %d bytes, the limit is %d", grew, limit)
				}
				return fmt.Sprintf("pages %d; %s", int32(res[0]), verdict)
			},
		},
		{
			// 16 grows of 16 M elements (2 GiB of RSS on wasmtime and
			// wasmer, 7 GiB on wazero) and then small grows: stopped at
			// runtime.DefaultTableLimit. The table at the limit is 8 MiB
			// of references; measured peak RSS growth: wasmtime 4.3 MB,
			// wasmer 8.5 MB, wazero 27 MB and its interpreter 35 MB (its
			// tables are Go slices grown by copying, whose garbage the GC
			// frees later), so the bound is 8x the table's size.
			Name: "bombs/table-grow-to-the-default-limit",
			Want: fmt.Sprintf("size %d; rss under 8x the table", runtime.DefaultTableLimit),
			Run: func(t *testing.T, env *Env) string {
				rt := mustFixtureRuntime(t, env, "wat/iso_bombs.wasm", nil)
				base := peakRSS(t)
				res, err := rt.CallWasm(context.Background(), "grow_table")
				if err != nil {
					return ErrorKind(err)
				}
				grew := peakRSS(t) - base
				closeKind(rt)
				verdict := "rss under 8x the table"
				if table := int64(runtime.DefaultTableLimit) * 8; grew >= 8*table*raceFactor {
					verdict = fmt.Sprintf("rss grew by %d bytes, the table is %d", grew, table)
				}
				return fmt.Sprintf("size %d; %s", int32(res[0]), verdict)
			},
		},
	}
}

// peakRSS is the process's peak resident set size in bytes (VmHWM).
func peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("reading /proc/self/status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatalf("VmHWM: %v", err)
			}
			return kib << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

//go:build wasip1

package guest

// warmSize is the largest allocation size whose size class init warms.
const warmSize = 256

// arenaGroup has the layout of a table group of the arena's map (Go's maps
// store up to 8 entries in a group, after a control word), for init to warm
// its size class. Should the Go runtime's layout change, that warm-up would
// miss, nothing else.
type arenaGroup struct {
	ctrl  uint64
	slots [8]struct {
		key  uint32
		elem []byte
	}
}

// The sinks keep init's allocations on the heap.
var (
	warmSink      []byte
	warmGroupSink *arenaGroup
)

// init does, once per instance at start (_initialize runs the package init
// functions), the Go runtime work that the guest library's paths would
// otherwise do lazily on their first use in an export call. A host that
// snapshots an instance after start and restores it before each call (a
// pool resetting instances on put back, the default) would pay for that
// work again on every call: for the conformance fixture's greet it was more
// than the warm call itself (45,548 gas for the first greet after start,
// 21,891 for the next ones).
//
// The Go allocator hands out small objects from one span per size class,
// which its per-P cache fetches from the heap on the first allocation of
// that class (an mcache refill, about 10k gas). init makes that first
// allocation:
//
//   - of the size class of the arena map's table, which the map allocates
//     on its first insertion (inserting into the arena here would do, but
//     emptying it again draws a new hash seed from the guest's random
//     stream, and a guest must see the same stream as before);
//   - of every pointer-free size class up to warmSize bytes: allocate's
//     buffers and the encodings Return makes are byte slices of the
//     caller's sizes.
//
// This costs about 200k gas at start (the Go runtime's own start is about
// 2.1M) and reserves one 8 KiB span per size class warmed (18), unused
// until the guest allocates in it.
func init() {
	warmGroupSink = new(arenaGroup)
	// Every multiple of 8 from 16 reaches every size class up to warmSize
	// (below 16 bytes, allocations of pointer-free memory share 16-byte
	// blocks).
	for n := 16; n <= warmSize; n += 8 {
		warmSink = make([]byte, n)
	}
	warmGroupSink, warmSink = nil, nil
}

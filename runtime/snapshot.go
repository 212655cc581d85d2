package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"strings"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// Cheap reset. Reset returns an instance to its post-start state; instead of
// creating a new instance it restores a snapshot of the instance's own state
// taken right after start: the bytes of its linear memory and the values of
// its mutable globals. That is the whole state of a module that
// metering.PrepareSnapshot finds restorable (no table mutation, no dropped
// segment, no imported memory, table or mutable global), as long as the
// memory did not grow: memory cannot shrink, so a grown instance is
// re-instantiated. AssemblyScript's stub runtime (its heap pointer is a
// global) and Go guests (their runtime lives in memory and globals) are
// restorable.

// snapshotPlan describes how to snapshot an instance of a module.
type snapshotPlan struct {
	// globals are the export names of every mutable global of the module
	// (metering.PrepareSnapshot exported those the module did not), but
	// the dirty-page bitmap's.
	globals []string
	// dirty is the dirty-page tracking the code was given
	// (metering.TrackDirtyPages), nil if none: Reset then compares the
	// whole memory with the snapshot.
	dirty *metering.DirtyResult
}

// maxSnapshotMemory bounds the memory a snapshot copies (bytes): an instance
// with a larger memory is re-instantiated by Reset, which costs less than
// comparing that much memory and does not keep a second copy of it.
const maxSnapshotMemory = 64 << 20

// prepareSnapshot returns code rewritten so that instances can be
// snapshotted, and the plan; a nil plan means Reset re-instantiates.
//
// Code the metering parser rejects (malformed, invalid, or using a feature
// it does not support) is returned unchanged with a nil plan: the engine
// then reports what is wrong with it (ErrCompile), or runs it, and Reset
// re-instantiates. A module that is not restorable is compiled as given too.
// The error is always nil.
//
// With track (WithDirtyPageTracking), the code records the pages it writes
// (see restoreDirty), unless it cannot be rewritten so (then Reset
// compares the whole memory).
func prepareSnapshot(code []byte, track bool) ([]byte, *snapshotPlan, error) {
	var res *metering.SnapshotResult
	var dirty *metering.DirtyResult
	var err error
	if track {
		dirty, err = metering.TrackDirtyPages(code)
	}
	if err == nil && dirty != nil && dirty.Words != nil {
		if res, err = metering.PrepareSnapshot(dirty.Module); err != nil {
			res = nil
		}
	}
	if res == nil {
		dirty = nil
		if res, err = metering.PrepareSnapshot(code); err != nil {
			return code, nil, nil
		}
	}
	if !res.Restorable {
		return code, nil, nil
	}
	if res.Memory && !slices.Contains(res.MemoryExports, "memory") {
		// The engine SPI reaches the memory exported as "memory" only.
		return code, nil, nil
	}
	plan := &snapshotPlan{dirty: dirty}
	for _, g := range res.Globals {
		if dirty == nil || !strings.HasPrefix(g, metering.DirtyExportPrefix) {
			plan.globals = append(plan.globals, g)
		}
	}
	return res.Module, plan, nil
}

// snapshot is the post-start state of one engine instance.
type snapshot struct {
	inst engine.Instance // the instance it was taken of
	// mem is the whole linear memory; its length is the size. When shared
	// is set it is the module's copy (Module.snapMem), never written.
	mem     []byte
	shared  bool
	globals []engine.Global   // the mutable globals, as in snapshotPlan.globals
	values  []uint64          // their values
	wasi    *wasi.Descriptors // the WASI descriptor table, with WithWASI
}

// takeSnapshot records the state of the instance just created, its start
// code run, for restoreSnapshot. It is called at the end of instantiate and
// leaves r.snap nil when the module has no plan or the state cannot be
// captured (a global the engine does not expose, a memory larger than
// maxSnapshotMemory, a file the start code left open through WASI).
func (r *Runtime) takeSnapshot() {
	s := r.snap
	r.snap = nil
	if r.module.prep == nil || r.module.prep.snapshot == nil || r.inst == nil {
		return
	}
	plan := r.module.prep.snapshot
	if s == nil {
		s = newSnapshot()
	}
	s.wasi = nil
	if r.wasi != nil {
		// The WASI descriptor table is part of the instance's state: its
		// memory records the descriptors the guest holds and how it set
		// them (Go's runtime makes stdio non-blocking during
		// initialization). Bind the state to the new instance first: if the
		// start code made no WASI call it is still bound to the previous
		// instance, with its descriptors.
		r.wasi.bind(r.inst)
		d, ok := r.wasi.host.SaveDescriptors()
		if !ok {
			return
		}
		s.wasi = d
	}
	s.inst = r.inst
	s.globals, s.values = s.globals[:0], s.values[:0]
	if s.shared {
		s.mem, s.shared = nil, false
	} else {
		s.mem = s.mem[:0]
	}
	for _, name := range plan.globals {
		g := r.inst.Global(name)
		if g == nil {
			return
		}
		s.globals = append(s.globals, g)
		s.values = append(s.values, g.Get())
	}
	if r.mem != nil {
		size := r.mem.Size()
		if size > maxSnapshotMemory {
			return
		}
		b, ok := r.mem.Read(0, size)
		if !ok {
			return
		}
		if shared := r.module.sharedMemory(b); shared != nil {
			s.mem, s.shared = shared, true
		} else {
			s.mem = append(s.mem, b...)
		}
	}
	// From now on the memory differs from the snapshot only in the pages
	// the dirty bitmap records.
	if d := r.dirty; d != nil {
		d.bind(r.inst)
		_, ok, broken := d.take(r.mem, s.mem, s.values)
		if broken {
			return
		}
		if !ok {
			d.clear(true)
		}
	}
	r.snap = s
}

// sharedMemory returns the module's copy of the post-start memory mem if
// it has one equal to mem, or makes mem its copy if it has none yet; nil if
// mem differs (the start code is not deterministic: it read the clock or
// random bytes, or a host function's answer). Instances of a module then
// keep one copy of their post-start memory between them, instead of one
// each.
func (m *Module) sharedMemory(mem []byte) []byte {
	m.snapMu.Lock()
	defer m.snapMu.Unlock()
	if m.snapMem == nil {
		m.snapMem = bytes.Clone(mem)
		return m.snapMem
	}
	if bytes.Equal(m.snapMem, mem) {
		return m.snapMem
	}
	return nil
}

// intactFaults are the faults after which the engine instance is known to be
// intact, its state only the guest's: the guest trapped, was interrupted,
// aborted, exited, ran out of gas or broke the ABI, or a host function
// failed. After any other error (an engine failure or panic) Reset
// re-instantiates.
var intactFaults = []error{ErrTrap, ErrInterrupted, ErrAbort, ErrHost, ErrHostPanic, ErrABI,
	ErrOutOfGas, ErrCallDepth, wasi.ErrExit}

// restoreSnapshot restores the instance to its snapshot and reports whether
// it could. r.mu is held. It fails, changing nothing that matters (Reset then
// re-instantiates), when there is no snapshot of the current instance, the
// memory grew, or the last fault is not known to leave the instance intact.
func (r *Runtime) restoreSnapshot(ctx context.Context) bool {
	s := r.snap
	if s == nil || r.inst == nil || s.inst != r.inst {
		return false
	}
	if r.fault != nil && !slices.ContainsFunc(intactFaults, func(k error) bool { return errors.Is(r.fault, k) }) {
		return false
	}
	globalsDone := false
	if r.mem != nil {
		if r.mem.Size() != uint32(len(s.mem)) {
			return false
		}
		if d := r.dirty; d != nil && d.inst == r.inst && d.words[0] != nil {
			var ok bool
			if ok, globalsDone = d.restore(r.mem, s); !ok {
				return false
			}
		} else if !restoreMemory(r.mem, s.mem) {
			return false
		}
	} else if len(s.mem) != 0 {
		return false
	}
	if !globalsDone {
		for i, g := range s.globals {
			g.Set(s.values[i])
		}
	}
	if s.wasi != nil {
		r.wasi.host.RestoreDescriptors(s.wasi)
	}
	r.pending, r.curFunc = nil, ""
	r.setFault(nil)
	return true
}

// restorePage is the unit in which restoreMemory compares memory.
const restorePage = 4 << 10

// restoreMemory writes snap back into mem, whose size is len(snap). It
// compares the memory with the snapshot page by page and writes only the
// runs of pages that differ: a call usually dirties a few pages (the stack,
// the heap top, the data it returned), and comparing is cheaper than
// writing (see BenchmarkRestoreMemory).
func restoreMemory(mem engine.Memory, snap []byte) bool {
	cur, ok := mem.Read(0, uint32(len(snap)))
	if !ok {
		return false
	}
	dirty := -1 // start of the current run of differing pages
	for off := 0; off < len(snap); off += restorePage {
		end := min(off+restorePage, len(snap))
		if !bytes.Equal(cur[off:end], snap[off:end]) {
			if dirty < 0 {
				dirty = off
			}
			continue
		}
		if dirty >= 0 {
			if !mem.Write(uint32(dirty), snap[dirty:off]) {
				return false
			}
			dirty = -1
		}
	}
	if dirty >= 0 {
		return mem.Write(uint32(dirty), snap[dirty:])
	}
	return true
}

// Dirty pages. The code of a restorable module records the 4 KiB pages it
// writes in a bitmap of globals (metering.TrackDirtyPages), and the host
// records those it writes (arguments, host results, WASI) in a bitmap of
// the same layout on the Go side (dirtyMemory, the one way host code
// writes guest memory). Reset then compares and writes back only the
// pages either bitmap flags, and the first bytes of the page following
// each (a store may straddle two pages; the code records the first), so
// that its cost follows what the calls touched, not the size of the
// memory: a few pages of a 3 MB Go guest instead of all of them.

// dirtyState is the dirty-page state of a Runtime whose module tracks
// dirty pages.
type dirtyState struct {
	plan *metering.DirtyResult
	// resetGlobals is plan.ResetGlobals, read by every Reset: a copy on the
	// state's own lines (see newDirtyState).
	resetGlobals int
	// host is the Go side's bitmap: the pages host code wrote since the
	// bitmap was last cleared, in the layout of the code's.
	host [metering.DirtyWords]uint64
	// The code's bitmap in the instance inst: words, summary and last page
	// (all nil if the engine does not expose them: Reset then compares the
	// whole memory).
	inst  engine.Instance
	words [metering.DirtyWords]engine.Global
	sum   engine.Global
	last  engine.Global
	// reset is the code's reset function in inst (metering.DirtyResult.Reset),
	// nil if it has none: it sets the module's mutable globals and takes
	// the code's bitmap in one call, where the globals take one engine call
	// each (a cgo call on wasmtime and wasmer). Its values go through the
	// first bytes of memory (scratch holds them on the way in), not as
	// params and results: a wasmer call converts each of those, 1.2 us for
	// the 25 of the Go guest against 0.1 us for a call without any.
	reset   engine.Function
	scratch []byte
}

// bind looks up the bitmap globals of inst, if it is not the instance
// bound already.
func (d *dirtyState) bind(inst engine.Instance) {
	if d.inst == inst && inst != nil {
		return
	}
	d.inst, d.words, d.sum, d.last, d.reset = inst, [metering.DirtyWords]engine.Global{}, nil, nil, nil
	if inst == nil {
		return
	}
	var words [metering.DirtyWords]engine.Global
	for i, name := range d.plan.Words {
		if words[i] = inst.Global(name); words[i] == nil {
			return
		}
	}
	sum, last := inst.Global(d.plan.Summary), inst.Global(d.plan.Last)
	if sum == nil || last == nil {
		return
	}
	d.words, d.sum, d.last = words, sum, last
	if d.plan.Reset == "" {
		return
	}
	f := inst.Function(d.plan.Reset)
	if f == nil {
		return
	}
	if t := f.Type(); len(t.Params) != 0 || len(t.Results) != 0 {
		return
	}
	d.reset = f
	if n := d.plan.ResetScratch(); cap(d.scratch) < n {
		d.scratch = make([]byte, n, (n+cacheLine-1)/cacheLine*cacheLine) // lines of its own (see cacheLine)
	}
}

// take restores the module's mutable globals to values (their snapshot,
// in the order of snapshotPlan.globals) and clears both bitmaps, returning
// what they held, ORed, with the code's reset function. ok is false if
// there is none (or values does not fit it, or mem is smaller than its
// scratch bytes): then nothing changed. broken reports that the function
// failed or its scratch bytes could not be read or restored: the instance
// is then to be re-instantiated (the code's bitmap may be lost). The
// scratch bytes, at the start of mem, are written back from snap, the
// post-start memory (len(snap) is mem's size).
func (d *dirtyState) take(mem engine.Memory, snap []byte, values []uint64) (bm [metering.DirtyWords]uint64, ok, broken bool) {
	n := len(d.scratch)
	if d.reset == nil || len(values) != d.resetGlobals || mem == nil || len(snap) < n {
		return bm, false, false
	}
	st := d.scratch
	for i, v := range values {
		binary.LittleEndian.PutUint64(st[8*i:], v)
	}
	if !mem.Write(0, st) {
		return bm, false, false
	}
	if err := d.reset.Call(context.Background(), nil); err != nil {
		mem.Write(0, snap[:n])
		return bm, false, true
	}
	words, read := mem.Read(0, metering.DirtyWords*8)
	if !read {
		return bm, false, true
	}
	for w := range bm {
		bm[w] = binary.LittleEndian.Uint64(words[8*w:]) | d.host[w]
	}
	d.host = [metering.DirtyWords]uint64{}
	if !mem.Write(0, snap[:n]) {
		return bm, false, true
	}
	return bm, true, false
}

// clear clears both bitmaps and returns what they held, ORed. all clears
// every word of the code's bitmap, not only those its summary flags.
func (d *dirtyState) clear(all bool) (bm [metering.DirtyWords]uint64) {
	bm, d.host = d.host, [metering.DirtyWords]uint64{}
	if d.words[0] == nil {
		return bm
	}
	sum := uint32(d.sum.Get())
	if all {
		sum = 1<<metering.DirtyWords - 1
	}
	if sum == 0 {
		return bm
	}
	for ; sum != 0; sum &= sum - 1 {
		w := bits.TrailingZeros32(sum) % metering.DirtyWords
		if v := d.words[w].Get(); v != 0 {
			bm[w] |= v
			d.words[w].Set(0)
		}
	}
	d.sum.Set(0)
	d.last.Set(metering.DirtyNoPage)
	return bm
}

// mark records that the host writes n bytes at off.
func (d *dirtyState) mark(off uint32, n int) {
	if n <= 0 {
		return
	}
	first := uint64(off) >> metering.DirtyPageShift
	last := (uint64(off) + uint64(n) - 1) >> metering.DirtyPageShift
	if last-first >= metering.DirtyBits-1 {
		for i := range d.host {
			d.host[i] = ^uint64(0)
		}
		return
	}
	for q := first; q <= last; q++ {
		d.host[(q>>6)%metering.DirtyWords] |= 1 << (q & 63)
	}
}

// straddle is how far past the end of a page a store recorded under that
// page may write: 7 bytes, for an 8-byte store at its last byte.
const straddle = 7

// restore writes the snapshot's memory back into mem, whose size is
// len(s.mem), where the bitmaps say the memory may differ, and clears
// them. globals reports whether it restored the module's mutable globals
// too, with the code's reset function (see take).
//
// The pages are written back without comparing them first: nearly every
// page a call marks differs from the snapshot (19 of the 20 a greet of the
// Go guest marks after a reset), and comparing the ones that do costs
// about as much as writing them.
func (d *dirtyState) restore(mem engine.Memory, s *snapshot) (ok, globals bool) {
	snap := s.mem
	bm, globals, broken := d.take(mem, snap, s.values)
	if broken {
		return false, false
	}
	if !globals {
		bm = d.clear(false)
	}
	for w, word := range bm {
		for ; word != 0; word &= word - 1 {
			for q := w*64 + bits.TrailingZeros64(word); q<<metering.DirtyPageShift < len(snap); q += metering.DirtyBits {
				start := q << metering.DirtyPageShift
				end := min(start+1<<metering.DirtyPageShift+straddle, len(snap))
				if !mem.Write(uint32(start), snap[start:end]) {
					return false, globals
				}
			}
		}
	}
	return true, globals
}

// trackHostWrites makes every host function of a runtime whose module
// tracks dirty pages see its caller's memory through a dirtyMemory, which
// records the pages it writes: WASI and every other host function, whatever
// it writes, cannot write guest memory unrecorded.
func (r *Runtime) trackHostWrites(host []engine.HostFunc) []engine.HostFunc {
	p := r.module.prep
	if p == nil || p.snapshot == nil || p.snapshot.dirty == nil {
		return host
	}
	if r.dirty == nil {
		r.dirty = newDirtyState(p.snapshot.dirty)
	}
	for i := range host {
		call := host[i].Call
		c := newDirtyCaller(r.dirty)
		host[i].Call = func(ctx context.Context, caller engine.Caller, stack []uint64) error {
			prev := c.Caller
			c.Caller = caller
			err := call(ctx, c, stack)
			c.Caller = prev
			return err
		}
	}
	return host
}

// dirtyExport reports whether name is an export the dirty-page tracking
// added (the bitmap globals, the reset function): not the module's, and
// not to be called by name (CallWasm), which could clear the bitmap and
// leave pages the next Reset would not restore.
func (r *Runtime) dirtyExport(name string) bool {
	p := r.module.prep
	return p != nil && p.snapshot != nil && p.snapshot.dirty != nil && strings.HasPrefix(name, metering.DirtyExportPrefix)
}

// markWrite records that the host writes n bytes at off into the
// instance's memory (the ABI's arguments and results, see write).
func (r *Runtime) markWrite(off uint32, n int) {
	if r.dirty != nil {
		r.dirty.mark(off, n)
	}
}

// dirtyCaller is the engine.Caller the host functions of a runtime that
// tracks dirty pages see: its memory records the pages written.
type dirtyCaller struct {
	engine.Caller
	mem dirtyMemory
}

// Memory returns the caller's memory, recording writes.
func (c *dirtyCaller) Memory() engine.Memory {
	m := c.Caller.Memory()
	if m == nil {
		return nil
	}
	c.mem.Memory = m
	return &c.mem
}

// dirtyMemory is an engine.Memory that records the pages written through
// it in the host's dirty bitmap.
type dirtyMemory struct {
	engine.Memory
	d *dirtyState
}

// Write records the pages written, then writes.
func (m *dirtyMemory) Write(off uint32, data []byte) bool {
	m.d.mark(off, len(data))
	return m.Memory.Write(off, data)
}

package runtime

import (
	"bytes"
	"context"
	"errors"
	"slices"

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
	// (metering.PrepareSnapshot exported those the module did not).
	globals []string
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
func prepareSnapshot(code []byte) ([]byte, *snapshotPlan, error) {
	res, err := metering.PrepareSnapshot(code)
	if err != nil || !res.Restorable {
		return code, nil, nil
	}
	if res.Memory && !slices.Contains(res.MemoryExports, "memory") {
		// The engine SPI reaches the memory exported as "memory" only.
		return code, nil, nil
	}
	return res.Module, &snapshotPlan{globals: res.Globals}, nil
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
		s = &snapshot{}
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
	if r.mem != nil {
		if r.mem.Size() != uint32(len(s.mem)) || !restoreMemory(r.mem, s.mem) {
			return false
		}
	} else if len(s.mem) != 0 {
		return false
	}
	for i, g := range s.globals {
		g.Set(s.values[i])
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

//go:build unix

package wazero

import (
	"context"
	"sync"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// wazero keeps a linear memory in a Go byte slice and grows it by
// re-allocating and copying: a guest that grows its memory page by page
// costs O(n²) copying, and the garbage it leaves makes the process's RSS
// many times the guest's memory (14 GiB for one guest growing to 4 GiB).
// The adapter gives wazero its own allocator instead: each memory reserves
// its maximum size of address space once (mmap, no access), and growing
// makes the next pages readable and writable in place (mprotect). The
// bytes never move, growing costs what it adds, untouched pages take no
// RSS, and closing the instance returns it all (munmap) — or keeps it for
// the next instance (see spares).

// mmapAllocator is the experimental.MemoryAllocator of every instance.
type mmapAllocator struct{}

// Allocate implements experimental.MemoryAllocator.
func (mmapAllocator) Allocate(_, max uint64) experimental.LinearMemory {
	if max == 0 {
		max = 1 // wazero never asks to grow past max; keep the mapping valid
	}
	size := roundPage(max)
	if m := spares.take(size); m != nil {
		m.max = max
		return m
	}
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		// No address space left for the reservation: a Go slice, grown
		// by copying, as wazero would do itself.
		return &sliceMemory{max: max}
	}
	return &mmapMemory{reserved: b, max: max}
}

// sliceMemory is the fallback linear memory: a Go slice grown by copying.
type sliceMemory struct {
	buf []byte
	max uint64
}

// Reallocate implements experimental.LinearMemory.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
	} else {
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	}
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf = nil }

// mmapMemory is one linear memory: reserved is the whole reservation,
// committed the length made accessible so far (by this memory, or by the
// spare it was taken from), used the largest size this memory had: the
// guest cannot have written past it.
type mmapMemory struct {
	reserved  []byte
	committed uint64
	used      uint64
	max       uint64
}

// Reallocate implements experimental.LinearMemory: it returns the memory
// with size bytes accessible, or nil if it cannot grow that far.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if m.reserved == nil || size > m.max {
		return nil
	}
	if want := roundPage(size); want > m.committed {
		if err := syscall.Mprotect(m.reserved[m.committed:want], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.committed = want
	}
	m.used = max(m.used, size)
	return m.reserved[:size:size]
}

// Free implements experimental.LinearMemory: the memory is zeroed and kept
// for the next instance if there is room among the spares, unmapped if not.
func (m *mmapMemory) Free() {
	if m.reserved == nil {
		return
	}
	if !spares.put(m) {
		_ = syscall.Munmap(m.reserved)
	}
	m.reserved, m.committed = nil, 0
}

// Spare memories. A fresh mapping costs a page fault the first time each
// page is touched (1 to 20 µs each on a virtual machine, against about 30
// ns to zero a resident page), and an instance re-created to reset it (the
// pool, Runtime.Reset after memory.grow) touches again the pages its
// predecessor touched. Closed instances therefore leave their memory, its
// touched pages zeroed and still resident, to the next instance with the
// same reservation (the same maximum size): at most maxSpares of them,
// holding at most maxSpareCommitted accessible bytes in all (the default
// memory limit of a module, 64 MiB, fits twice).
const (
	maxSpares         = 8
	maxSpareCommitted = 128 << 20
)

var spares spareList

type spareList struct {
	mu        sync.Mutex
	list      []spare
	committed uint64 // the sum of the spares' committed bytes
}

// spare is a zeroed reservation with its first committed bytes accessible.
type spare struct {
	reserved  []byte
	committed uint64
}

// take returns a spare memory reserving size bytes, or nil.
func (s *spareList) take(size uint64) *mmapMemory {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.list) - 1; i >= 0; i-- {
		if sp := s.list[i]; uint64(len(sp.reserved)) == size {
			s.list = append(s.list[:i], s.list[i+1:]...)
			s.committed -= sp.committed
			return &mmapMemory{reserved: sp.reserved, committed: sp.committed}
		}
	}
	return nil
}

// put zeroes m and keeps it, or reports false if there is no room for it
// (or it cannot be zeroed cheaply).
func (s *spareList) put(m *mmapMemory) bool {
	s.mu.Lock()
	full := len(s.list) >= maxSpares || s.committed+m.committed > maxSpareCommitted
	s.mu.Unlock()
	// Only the bytes the guest could reach can differ from zero: the rest
	// of committed was zeroed when the memory became a spare before.
	if full || !zeroResident(m.reserved[:roundPage(m.used)]) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.list) >= maxSpares || s.committed+m.committed > maxSpareCommitted {
		return false
	}
	s.list = append(s.list, spare{reserved: m.reserved, committed: m.committed})
	s.committed += m.committed
	return true
}

var pageSize = uint64(syscall.Getpagesize())

func roundPage(n uint64) uint64 { return (n + pageSize - 1) &^ (pageSize - 1) }

// withMemoryAllocator returns ctx with the adapter's memory allocator.
func withMemoryAllocator(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, mmapAllocator{})
}

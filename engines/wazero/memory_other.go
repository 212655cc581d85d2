//go:build !unix

package wazero

import "context"

// withMemoryAllocator leaves wazero's own memory allocation in place where
// the mmap allocator (memory.go) is not available.
func withMemoryAllocator(ctx context.Context) context.Context { return ctx }

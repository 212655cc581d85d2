package wazero

import (
	"syscall"
	"unsafe"
)

// zeroResident zeroes the resident pages of b (page-aligned; pages never
// touched read as zero already, and writing them would only fault them in).
// It reports false if mincore fails.
func zeroResident(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	ps := int(pageSize)
	vec := make([]byte, (len(b)+ps-1)/ps)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return false
	}
	for i := 0; i < len(vec); {
		if vec[i]&1 == 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(vec) && vec[j]&1 != 0 {
			j++
		}
		clear(b[i*ps : min(j*ps, len(b))])
		i = j
	}
	return true
}

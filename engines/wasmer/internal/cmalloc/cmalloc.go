//go:build linux && cgo

// Package cmalloc reads and trims the C heap of the process (glibc's
// malloc), for the wasmer adapter's leak tests: they tell memory the C heap
// still holds (a leak) from memory it freed but keeps mapped (fragmentation,
// per-thread arenas), which the resident set size alone cannot.
package cmalloc

/*
#include <malloc.h>
#include <stddef.h>

static int aspect_cm_trim(void) {
#ifdef __GLIBC__
	return malloc_trim(0);
#else
	return 0;
#endif
}

// aspect_cm_in_use returns the bytes allocated and not freed (in every
// arena, and in chunks mapped on their own), or -1 if unknown.
static long long aspect_cm_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	struct mallinfo2 mi = mallinfo2();
	return (long long)(mi.uordblks + mi.hblkhd);
#else
	return -1;
#endif
}
*/
import "C"

// Trim returns the free memory at the top of every malloc arena, and the
// free pages inside them, to the operating system (malloc_trim(0); nothing
// where the C library is not glibc).
func Trim() { C.aspect_cm_trim() }

// InUse returns the bytes the C heap has allocated and not freed, and false
// if the C library cannot tell (glibc before 2.33, another libc).
func InUse() (uint64, bool) {
	n := int64(C.aspect_cm_in_use())
	if n < 0 {
		return 0, false
	}
	return uint64(n), true
}

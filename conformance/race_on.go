//go:build race

package conformance

// raceFactor scales the resource bounds of the bomb cases: the race
// detector's shadow memory multiplies the Go heap (a wazero table is a Go
// slice) several times.
const raceFactor = 8

//go:build !race

package conformance

// raceFactor scales the resource bounds of the bomb cases (see race_on.go).
const raceFactor = 1

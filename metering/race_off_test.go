//go:build !race

package metering

// raceEnabled: see race_on_test.go.
const raceEnabled = false

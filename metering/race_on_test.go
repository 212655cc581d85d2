//go:build race

package metering

// raceEnabled: the tests run under the race detector, where the exhaustive
// exactness tests sample their budgets (the build without it runs them all).
const raceEnabled = true

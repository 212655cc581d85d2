//go:build !(linux && (amd64 || arm64))

package conformance

// signalSelfTests: making a Go process die of a signal needs Linux here.
func signalSelfTests() []selfTest { return nil }

//go:build cgo && wasmer

package peerwapc

import wapcwasmer "github.com/wapc/wapc-go/engines/wasmer"

// wapc-go's wasmer engine (wasmer-go v1.0.4), with -tags wasmer only, like
// the library's wasmer adapter (the two C APIs never share a binary).
func init() { engines["wasmer"] = wapcwasmer.Engine() }

package peerwapc

import wapcwazero "github.com/wapc/wapc-go/engines/wazero"

func init() { engines["wazero"] = wapcwazero.Engine() }

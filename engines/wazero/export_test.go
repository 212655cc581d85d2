package wazero

import (
	"os"

	wz "github.com/tetratelabs/wazero"
)

// InterpreterEnv, set to 1, makes the tests use wazero's interpreter.
const InterpreterEnv = "ASPECT_WAZERO_INTERPRETER"

func init() {
	if os.Getenv(InterpreterEnv) == "1" {
		newRuntimeConfig = wz.NewRuntimeConfigInterpreter
	}
}

package runtime

// wazero is pure Go, so it is linked into every build.
import _ "github.com/aspect-rt/aspect-runtime/engines/wazero"

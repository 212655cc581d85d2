package limitstest

import _ "github.com/aspect-rt/aspect-runtime/engines/wazero" // wazero is linked into every build

package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// The hand-written baselines: the work of each scenario done with one
// engine's own Go API, as a user of that engine would write it without this
// library. Each hand_<engine>_test.go registers its engine in hands from an
// init function, under the same build constraints as its adapter.

// hands maps an engine name to the function that compiles a module with
// that engine's own API.
var hands = map[string]func(tb testing.TB, wasm []byte) handModule{}

// handModule is a module compiled by hand with one engine's own API.
type handModule interface {
	// instantiate creates an instance (in a store of its own on engines with
	// stores that are not shared) with env.abort and index.test.hello
	// provided, and runs __aspect_start__ when the module exports it.
	instantiate() (handInstance, error)
	// close releases the module. Its instances must be closed first.
	close()
}

// handInstance is one instance created by hand.
type handInstance interface {
	// nop calls the export nop() -> ().
	nop() error
	// add calls the export add(i32, i32) -> i32.
	add(a, b int32) (int32, error)
	// call does one ABI call by hand: it allocates len(arg) bytes through the
	// guest's allocate, writes arg there, calls export fn with the pointer
	// and returns the guest memory from the result pointer to the end of the
	// memory: a view, valid until the guest runs again.
	call(fn string, arg []byte) ([]byte, error)
	// close releases the instance.
	close()
}

// openHand compiles wasm by hand for engineName, closing it when tb ends;
// it skips tb when the engine has no baseline in this build.
func openHand(tb testing.TB, engineName string, wasm []byte) handModule {
	tb.Helper()
	open, ok := hands[engineName]
	if !ok {
		tb.Skipf("no hand-written baseline for engine %q in this build", engineName)
	}
	m := open(tb, wasm)
	tb.Cleanup(m.close)
	return m
}

// handInstantiate is m.instantiate, closed when tb ends (close is
// idempotent in every baseline).
func handInstantiate(tb testing.TB, m handModule) handInstance {
	tb.Helper()
	in, err := m.instantiate()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(in.close)
	return in
}

// ABI pieces the baselines write by hand (abi/FORMAT.md): a value is a
// little-endian uint16 tag, a uint32 payload length and the payload.
const (
	headerSize = 6
	tagString  = 10
)

var (
	errAbort  = errors.New("guest called env.abort")
	errBounds = errors.New("guest pointer out of bounds")
	errTag    = errors.New("not a String value")
)

// appendString appends the encoding of the ABI String s to buf.
func appendString(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint16(buf, tagString)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// readString decodes the ABI String at the start of view, copying it out.
func readString(view []byte) (string, error) {
	if len(view) < headerSize {
		return "", errBounds
	}
	if binary.LittleEndian.Uint16(view) != tagString {
		return "", fmt.Errorf("%w: tag %d", errTag, binary.LittleEndian.Uint16(view))
	}
	n := uint64(binary.LittleEndian.Uint32(view[2:]))
	if headerSize+n > uint64(len(view)) {
		return "", errBounds
	}
	return string(view[headerSize : headerSize+n]), nil
}

// hello is the host function index/test.hello of as/greet.wasm, in every
// variant.
func hello(name string) string { return "greet to " + name }

// helloBytes is what a hand-written test.hello does with its argument: read
// the String at ptr in mem, and return the encoded answer.
func helloBytes(mem []byte, ptr uint32) ([]byte, error) {
	if uint64(ptr) > uint64(len(mem)) {
		return nil, errBounds
	}
	name, err := readString(mem[ptr:])
	if err != nil {
		return nil, err
	}
	out := hello(name)
	return appendString(make([]byte, 0, headerSize+len(out)), out), nil
}

// writeAt copies data into mem at ptr, bounds-checked.
func writeAt(mem []byte, ptr uint32, data []byte) error {
	if uint64(ptr)+uint64(len(data)) > uint64(len(mem)) {
		return errBounds
	}
	copy(mem[ptr:], data)
	return nil
}

// viewAt returns mem from ptr on, bounds-checked.
func viewAt(mem []byte, ptr uint32) ([]byte, error) {
	if uint64(ptr) > uint64(len(mem)) {
		return nil, errBounds
	}
	return mem[ptr:], nil
}

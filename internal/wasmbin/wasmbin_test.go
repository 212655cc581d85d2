package wasmbin

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const header = "\x00asm\x01\x00\x00\x00"

// module returns a module of the given sections (id, body).
func module(secs ...[]byte) []byte {
	b := []byte(header)
	for _, s := range secs {
		b = append(b, s[0])
		b = AppendULEB(b, uint64(len(s)-1))
		b = append(b, s[1:]...)
	}
	return b
}

var (
	typeSec   = []byte{1, 1, 0x60, 0, 0}                  // (type (func))
	memOne    = []byte{SectionMemory, 1, 0x00, 1}         // (memory 1)
	memOneTwo = []byte{SectionMemory, 1, 0x01, 1, 2}      // (memory 1 2)
	customSec = []byte{0, 4, 'n', 'a', 'm', 'e'}          // custom "name", empty
	exportSec = []byte{SectionExport, 1, 1, 'm', 0x02, 0} // (export "m" (memory 0))
)

func TestSections(t *testing.T) {
	m := module(typeSec, memOne, exportSec)
	secs, err := Sections(m)
	require.NoError(t, err)
	require.Len(t, secs, 3)
	assert.Equal(t, byte(1), secs[0].ID)
	assert.Equal(t, byte(SectionMemory), secs[1].ID)
	assert.Equal(t, []byte{1, 0x00, 1}, secs[1].Body)
	assert.Equal(t, m[secs[1].Start:secs[1].End], []byte{SectionMemory, 3, 1, 0x00, 1})

	// Every prefix fails or succeeds, never panics; only whole sections
	// succeed.
	ends := map[int]bool{8: true}
	for _, s := range secs {
		ends[s.End] = true
	}
	for n := range len(m) {
		_, err := Sections(m[:n])
		if ends[n] {
			assert.NoError(t, err, "prefix %d", n)
		} else {
			assert.ErrorIs(t, err, ErrMalformed, "prefix %d", n)
		}
	}
	_, err = Sections([]byte("not wasm at all"))
	assert.ErrorIs(t, err, ErrMalformed)
	// A section size past the end, and an over-long LEB128.
	_, err = Sections(append([]byte(header), 1, 0xff, 0xff, 0xff, 0xff, 0x0f))
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = Sections(append([]byte(header), 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestMemories(t *testing.T) {
	mems, err := Memories(module(typeSec, memOneTwo))
	require.NoError(t, err)
	assert.Equal(t, []Memory{{Min: 1, Max: 2, HasMax: true}}, mems)
	mems, err = Memories(module(typeSec))
	require.NoError(t, err)
	assert.Empty(t, mems)
}

func TestCheckLimit(t *testing.T) {
	mems := []Memory{{Min: 1, Max: 2, HasMax: true}, {Min: 4}}
	assert.NoError(t, CheckLimit(mems, 0), "no limit")
	assert.NoError(t, CheckLimit(mems, 4))
	assert.EqualError(t, CheckLimit(mems, 3), "memory[1] min 4 pages over limit of 3 pages")
	assert.EqualError(t, CheckLimit(mems[:1], 1), "memory[0] max 2 pages over limit of 1 pages")
	assert.ErrorContains(t, CheckLimit(nil, MaxPages+1), "exceeds 65536")
}

func TestSetMemoryMax(t *testing.T) {
	// The limit becomes the declared maximum; nothing else changes.
	got, err := SetMemoryMax(module(typeSec, memOne, exportSec, customSec), 3)
	require.NoError(t, err)
	assert.Equal(t, module(typeSec, []byte{SectionMemory, 1, 0x01, 1, 3}, exportSec, customSec), got)

	// A declared maximum within the limit is kept; a larger one, or a
	// larger minimum, is an error.
	got, err = SetMemoryMax(module(memOneTwo), 3)
	require.NoError(t, err)
	assert.Equal(t, module(memOneTwo), got)
	_, err = SetMemoryMax(module(memOneTwo), 1)
	assert.EqualError(t, err, "memory[0] max 2 pages over limit of 1 pages")
	_, err = SetMemoryMax(module([]byte{SectionMemory, 1, 0x00, 5}), 4)
	assert.EqualError(t, err, "memory[0] min 5 pages over limit of 4 pages")

	// A limit needing a longer LEB128 changes the section's size.
	got, err = SetMemoryMax(module(memOne, exportSec), MaxPages)
	require.NoError(t, err)
	assert.Equal(t, module([]byte{SectionMemory, 1, 0x01, 1, 0x80, 0x80, 0x04}, exportSec), got)

	// No limit, or no memory: the module itself.
	m := module(typeSec, memOne)
	got, err = SetMemoryMax(m, 0)
	require.NoError(t, err)
	assert.Same(t, &m[0], &got[0])
	m = module(typeSec)
	got, err = SetMemoryMax(m, 3)
	require.NoError(t, err)
	assert.Same(t, &m[0], &got[0])

	// memory64 and shared flags, and trailing bytes, are not rewritten.
	_, err = SetMemoryMax(module([]byte{SectionMemory, 1, 0x04, 1}), 3)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = SetMemoryMax(module([]byte{SectionMemory, 1, 0x00, 1, 0x00}), 3)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = SetMemoryMax(nil, 3)
	assert.ErrorIs(t, err, ErrMalformed)
}

// FuzzSetMemoryMax: any input gives an error or a module whose memories
// all declare a maximum within the limit, with every other section intact.
func FuzzSetMemoryMax(f *testing.F) {
	f.Add(module(typeSec, memOne, exportSec, customSec), uint32(3))
	f.Add(module(memOneTwo), uint32(2))
	f.Add(module([]byte{SectionMemory, 2, 0x00, 1, 0x01, 0, 0x80, 0x01}), uint32(200))
	f.Fuzz(func(t *testing.T, wasm []byte, limit uint32) {
		out, err := SetMemoryMax(wasm, limit)
		if err != nil || limit == 0 {
			return
		}
		mems, err := Memories(out)
		require.NoError(t, err)
		for _, m := range mems {
			require.True(t, m.HasMax)
			require.LessOrEqual(t, m.Max, uint64(limit))
			require.LessOrEqual(t, m.Min, uint64(limit)) // (min > max is the engine's to reject)
		}
		in, err := Sections(wasm)
		require.NoError(t, err)
		got, err := Sections(out)
		require.NoError(t, err)
		require.Len(t, got, len(in))
		for i := range in {
			if in[i].ID != SectionMemory {
				require.True(t, bytes.Equal(in[i].Body, got[i].Body))
			}
		}
	})
}

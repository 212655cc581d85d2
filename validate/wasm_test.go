package validate_test

// A tiny WebAssembly binary writer for the tests: modules are built from
// sections, so every test module is generated, with its exact shape in the
// code.

func uleb(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func name(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

// vec encodes a vector of already encoded entries.
func vec(entries ...[]byte) []byte {
	b := uleb(nil, uint64(len(entries)))
	for _, e := range entries {
		b = append(b, e...)
	}
	return b
}

// section encodes a section of id with content c.
func section(id byte, c []byte) []byte {
	return append(uleb([]byte{id}, uint64(len(c))), c...)
}

// module concatenates the header and sections.
func module(sections ...[]byte) []byte {
	b := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

const (
	i32 = 0x7f
	i64 = 0x7e
	f32 = 0x7d
	f64 = 0x7c
	fnr = 0x70
	exr = 0x6f
)

// functype encodes a function type.
func functype(params, results []byte) []byte {
	b := append([]byte{0x60}, uleb(nil, uint64(len(params)))...)
	b = append(b, params...)
	b = uleb(b, uint64(len(results)))
	return append(b, results...)
}

// body encodes a function body: local declarations (count, type pairs) and
// instructions, which must end with 0x0b.
func body(locals [][2]uint64, code []byte) []byte {
	c := uleb(nil, uint64(len(locals)))
	for _, l := range locals {
		c = uleb(c, l[0])
		c = append(c, byte(l[1]))
	}
	c = append(c, code...)
	return append(uleb(nil, uint64(len(c))), c...)
}

// funcModule is a module with the given types, one function per entry of
// funcs (type index, body), a memory of one page exported as "memory" when
// mem, and an export "run" of function 0.
func funcModule(types [][]byte, funcs []int, bodies [][]byte, mem bool) []byte {
	fs := make([][]byte, len(funcs))
	for i, t := range funcs {
		fs[i] = uleb(nil, uint64(t))
	}
	secs := [][]byte{section(1, vec(types...)), section(3, vec(fs...))}
	exports := [][]byte{append(name(nil, "run"), 0x00, 0x00)}
	if mem {
		secs = append(secs, section(5, vec([]byte{0x00, 0x01})))
		exports = append(exports, append(name(nil, "memory"), 0x02, 0x00))
	}
	secs = append(secs, section(7, vec(exports...)), section(10, vec(bodies...)))
	return module(secs...)
}

// oneFunc is a module with a single function () -> () of the given locals
// and instructions.
func oneFunc(locals [][2]uint64, code []byte) []byte {
	return funcModule([][]byte{functype(nil, nil)}, []int{0}, [][]byte{body(locals, code)}, false)
}

// bodyOfSize is a function body () -> () of exactly n bytes (n >= 2,
// without its size prefix): no locals, n-2 nops, end.
func bodyOfSize(n int) []byte {
	c := make([]byte, n)
	for i := 1; i < n-1; i++ {
		c[i] = 0x01
	}
	c[n-1] = 0x0b
	return append(uleb(nil, uint64(n)), c...)
}

func ulebLen(v uint64) int { return len(uleb(nil, v)) }

// codeOfSize is a module whose code section's content is exactly n bytes,
// in functions () -> () of at most maxBody bytes each.
func codeOfSize(n, maxBody int) []byte {
	var sizes []int
	rest := n
	for k := 1; ; k++ {
		// k functions: the count, then k-1 full bodies and the remainder.
		full := (k - 1) * (ulebLen(uint64(maxBody)) + maxBody)
		rest = n - ulebLen(uint64(k)) - full
		if rest <= ulebLen(uint64(maxBody))+maxBody {
			sizes = make([]int, k)
			for i := range k - 1 {
				sizes[i] = maxBody
			}
			break
		}
	}
	// The last body: size + its LEB = rest.
	last := rest - 1
	for last+ulebLen(uint64(last)) != rest {
		last--
	}
	sizes[len(sizes)-1] = last
	funcs := make([]int, len(sizes))
	bodies := make([][]byte, len(sizes))
	for i, s := range sizes {
		bodies[i] = bodyOfSize(s)
	}
	return funcModule([][]byte{functype(nil, nil)}, funcs, bodies, false)
}

// globals is a module with n immutable i32 globals.
func globals(n int) []byte {
	gs := make([][]byte, n)
	for i := range gs {
		gs[i] = []byte{i32, 0x00, 0x41, 0x00, 0x0b}
	}
	return module(section(6, vec(gs...)))
}

// table is a module with a funcref table of initial size n.
func table(n uint64) []byte {
	return module(section(4, vec(uleb([]byte{fnr, 0x00}, n))))
}

// memory is a module with a memory of initial size min pages and, if
// max >= 0, a maximum.
func memory(min uint64, max int64) []byte {
	lim := uleb([]byte{0x00}, min)
	if max >= 0 {
		lim = uleb(uleb([]byte{0x01}, min), uint64(max))
	}
	return module(section(5, vec(lim)))
}

// data is a module with a memory of one page and an active data segment
// of n bytes at address 0.
func data(n int) []byte {
	seg := uleb([]byte{0x00, 0x41, 0x00, 0x0b}, uint64(n))
	seg = append(seg, make([]byte, n)...)
	return module(section(5, vec([]byte{0x00, 0x01})), section(11, vec(seg)))
}

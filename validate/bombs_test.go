package validate_test

// Compile-time bombs (issue 13): small modules some engine needs seconds,
// minutes or gigabytes to compile. Measured on main before the default
// profile, on a shared 2-core machine.

// nestedLoops: n nested loops, each ending with `i32.const 0; br_if 0`
// after the loop it contains (7 bytes a level). wasmtime: n=2,000
// (14 KB) 23 s, n=5,000 3 min 26 s; metered n=50,000 exhausted 22 GiB;
// wasmer metered: n=700 33 s, n=1,000 (7 KB) 76 s to 2 min.
func nestedLoops(n int) []byte {
	code := make([]byte, 0, 7*n+1)
	for range n {
		code = append(code, 0x03, 0x40)
	}
	for range n {
		code = append(code, 0x41, 0x00, 0x0d, 0x00, 0x0b)
	}
	return oneFunc(nil, append(code, 0x0b))
}

// nestedLoopsHead: n nested loops, each starting with `i32.const 0;
// br_if 0` (wazero metered: n=5,000 26 s).
func nestedLoopsHead(n int) []byte {
	code := make([]byte, 0, 7*n+1)
	for range n {
		code = append(code, 0x03, 0x40, 0x41, 0x00, 0x0d, 0x00)
	}
	for range n {
		code = append(code, 0x0b)
	}
	return oneFunc(nil, append(code, 0x0b))
}

// nestedBlocks: n nested empty blocks (3 bytes a level). wazero: n=100,000
// 1 min 49 s, n=1,000,000 not done after 4 minutes.
func nestedBlocks(n int) []byte {
	code := make([]byte, 0, 3*n+1)
	for range n {
		code = append(code, 0x02, 0x40)
	}
	for range n {
		code = append(code, 0x0b)
	}
	return oneFunc(nil, append(code, 0x0b))
}

// brTable: a br_table with n targets, the default included, all to the
// block around it (wazero: n=262,144 17 s, n=1,000,000 not done after 4
// minutes).
func brTable(n int) []byte {
	code := []byte{0x02, 0x40, 0x41, 0x00, 0x0e}
	code = uleb(code, uint64(n-1))
	for range n {
		code = append(code, 0x00)
	}
	return oneFunc(nil, append(code, 0x0b, 0x0b))
}

// manyLocals: one function with n i32 locals (wazero compiled 50,001,
// wasmtime refused them).
func manyLocals(n int) []byte {
	return oneFunc([][2]uint64{{uint64(n), i32}}, []byte{0x0b})
}

// manyFuncs: n functions () -> () (wazero compiled 1,000,001, wasmtime
// refused them; 100,000 take 8.6 s on wasmtime).
func manyFuncs(n int) []byte {
	funcs := make([]int, n)
	bodies := make([][]byte, n)
	b := body(nil, []byte{0x0b})
	for i := range bodies {
		bodies[i] = b
	}
	return funcModule([][]byte{functype(nil, nil)}, funcs, bodies, false)
}

// bomb is a compile-time bomb of issue 13 and the rule that refuses it.
type bomb struct {
	name    string
	code    func() []byte
	metered bool // found with gas metering (the runtime's WithMetering)
	rule    string
}

func bombs() []bomb {
	return []bomb{
		{"wasmtime/nested-loops-2000", func() []byte { return nestedLoops(2000) }, false, "loop-nesting"},
		{"wasmtime/nested-loops-5000", func() []byte { return nestedLoops(5000) }, false, "loop-nesting"},
		{"wasmtime/metered-nested-loops-50000", func() []byte { return nestedLoops(50000) }, true, "loop-nesting"},
		{"wazero/nested-blocks-100000", func() []byte { return nestedBlocks(100000) }, false, "nesting"},
		{"wazero/br-table-1000000", func() []byte { return brTable(1000000) }, false, "br-table"},
		{"wazero/nested-blocks-1000000", func() []byte { return nestedBlocks(1000000) }, false, "function-size"},
		{"wazero/nested-loops-50000", func() []byte { return nestedLoopsHead(50000) }, false, "loop-nesting"},
		{"wazero/metered-nested-loops-5000", func() []byte { return nestedLoopsHead(5000) }, true, "loop-nesting"},
		{"wasmer/metered-nested-loops-1000", func() []byte { return nestedLoops(1000) }, true, "loop-nesting"},
		{"wazero/locals-50001", func() []byte { return manyLocals(50001) }, false, "locals"},
		{"wazero/functions-1000001", func() []byte { return manyFuncs(1000001) }, false, "implementation-limit"},
	}
}

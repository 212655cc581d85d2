package validate_test

import (
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/validate"
)

// Validate refuses a module of 2,000 nested loops — 14 KB that an
// optimizing compiler needs minutes to compile — in microseconds, saying
// which limit it broke, by how much, and where.
func ExampleValidate() {
	// (module (func loop … loop i32.const 0 br_if 0 end … i32.const 0 br_if 0 end))
	leb := func(b []byte, v int) []byte {
		for ; v >= 0x80; v >>= 7 {
			b = append(b, byte(v)|0x80)
		}
		return append(b, byte(v))
	}
	var body []byte
	for range 2000 {
		body = append(body, 0x03, 0x40) // loop
	}
	for range 2000 {
		body = append(body, 0x41, 0x00, 0x0d, 0x00, 0x0b) // i32.const 0; br_if 0; end
	}
	body = append([]byte{0x00}, append(body, 0x0b)...)       // no locals … end
	content := append(leb([]byte{0x01}, len(body)), body...) // one body
	code := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
		0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
		0x0a} // code section
	code = append(leb(code, len(content)), content...)

	err := validate.Validate(code) // validate.DefaultProfile()
	var ve *validate.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Rule, ve.Value, ve.Limit, ve.Func)
	}
	fmt.Println(err)

	// The aspect profile also wants the guest ABI's exports.
	p := validate.AspectProfile()
	p.Limits.LoopNesting = 0 // no limit
	fmt.Println(validate.Validate(code, p))
	// Output:
	// loop-nesting 33 32 0
	// validate: profile default: loop-nesting: loop nesting depth 33, over the limit of 32 (func 0, offset 0x59)
	// validate: profile aspect: export: no memory exported as "memory"
}

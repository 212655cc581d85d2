package abi_test

import (
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/abi"
)

func ExampleMarshal() {
	type Point struct {
		X    int32  `abi:"x"`
		Y    int32  `abi:"y"`
		Note string `abi:"-"` // not encoded
	}
	b, err := abi.Marshal(Point{X: 1, Y: -2, Note: "local"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)

	var p Point
	if err := abi.Unmarshal(b, &p); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", p)

	// Integers convert when the value fits, and fail loudly when it does not.
	var other struct {
		X int8  `abi:"x"`
		Y uint8 `abi:"y"`
	}
	err = abi.Unmarshal(b, &other)
	fmt.Println(err, errors.Is(err, abi.ErrOverflow))
	// Output:
	// 10 00 1e 00 00 00 02 00 00 00 01 00 78 03 00 04 00 00 00 01 00 00 00 01 00 79 03 00 04 00 00 00 fe ff ff ff
	// {X:1 Y:-2 Note:}
	// abi: integer overflow: Int32 into uint8: -2 true
}

func ExampleUnmarshal() {
	b, _ := abi.Marshal(map[string][]uint16{"primes": {2, 3, 5}})

	var m map[string][]int64 // a different but compatible Go type
	if err := abi.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	fmt.Println(m)
	// Output: map[primes:[2 3 5]]
}

func ExampleDecode() {
	b, _ := abi.Marshal(struct {
		Name string
		Tags map[string]bool
		Vals []any
	}{"demo", map[string]bool{"b": true, "a": false}, []any{uint8(1), nil, 2.5}})

	v, err := abi.Decode(b)
	if err != nil {
		panic(err)
	}
	s := v.(abi.Struct)
	for _, f := range s {
		fmt.Printf("%s: %#v\n", f.Name, f.Value)
	}

	// Malformed input is rejected with a precise error.
	_, err = abi.Decode(b[:len(b)-1])
	fmt.Println(err)
	// Output:
	// Name: "demo"
	// Tags: map[interface {}]interface {}{"a":false, "b":true}
	// Vals: []interface {}{0x1, interface {}(nil), 2.5}
	// abi: truncated value at offset 0: Struct payload of 107 bytes, 106 left
}

// version encodes itself as the String "major.minor.patch" rather than as a
// Struct of three integers.
type version struct{ major, minor, patch uint16 }

// MarshalABI implements abi.Marshaler.
func (v version) MarshalABI() ([]byte, error) {
	return abi.Marshal(fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch))
}

// UnmarshalABI implements abi.Unmarshaler.
func (v *version) UnmarshalABI(data []byte) error {
	s, err := abi.DecodeString(data)
	if err != nil {
		return err
	}
	if _, err := fmt.Sscanf(s, "%d.%d.%d", &v.major, &v.minor, &v.patch); err != nil {
		return fmt.Errorf("version %q: %w", s, err)
	}
	return nil
}

// Types can encode and decode themselves, wherever they appear in a value.
func ExampleMarshaler() {
	type release struct {
		Name    string  `abi:"name"`
		Version version `abi:"version"`
	}
	b, err := abi.Marshal(release{Name: "aspect", Version: version{1, 2, 3}})
	if err != nil {
		panic(err)
	}
	v, _ := abi.Decode(b)
	fmt.Printf("%v\n", v)

	var r release
	err = abi.Unmarshal(b, &r)
	fmt.Printf("%+v %v\n", r, err)
	// Output:
	// [{name aspect} {version 1.2.3}]
	// {Name:aspect Version:{major:1 minor:2 patch:3}} <nil>
}

// Validate checks untrusted bytes without decoding them; errors.As gives the
// offset of the offending value and errors.Is the kind of fault.
func ExampleValidate() {
	good, _ := abi.Marshal([]any{int32(7), "seven"})
	fmt.Println(abi.Validate(good))

	bad := append([]byte(nil), good...)
	bad[10] = 99 // the first element's tag: no such tag
	err := abi.Validate(bad)
	var de *abi.DecodeError
	if errors.As(err, &de) {
		fmt.Println(de.Offset, errors.Is(err, abi.ErrMalformed), errors.Is(err, abi.ErrUnknownTag))
	}
	fmt.Println(err)
	// Output:
	// <nil>
	// 10 true true
	// abi: unknown tag at offset 10: tag 99
}

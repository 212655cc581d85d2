package abi_test

import (
	"strings"
	"testing"

	"github.com/aspect-rt/aspect-runtime/abi"
)

type benchSmall struct {
	ID    int64  `abi:"id"`
	Name  string `abi:"name"`
	OK    bool   `abi:"ok"`
	Score float64
}

var (
	benchSmallValue = benchSmall{ID: 42, Name: "aspect", OK: true, Score: 0.5}
	benchString     = strings.Repeat("0123456789abcdef", 4) // 64 bytes
	benchSink       []byte
)

func BenchmarkMarshalSmallStruct(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		out, err := abi.Marshal(&benchSmallValue)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = out
	}
}

func BenchmarkAppendSmallStruct(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for b.Loop() {
		out, err := abi.Append(buf[:0], &benchSmallValue)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = out
	}
}

func BenchmarkUnmarshalSmallStruct(b *testing.B) {
	data, err := abi.Marshal(benchSmallValue)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var v benchSmall
	for b.Loop() {
		if err := abi.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSmallStruct(b *testing.B) {
	data, err := abi.Marshal(benchSmallValue)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := abi.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalString64(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		out, err := abi.Marshal(benchString)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = out
	}
}

func BenchmarkUnmarshalString64(b *testing.B) {
	data, err := abi.Marshal(benchString)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var s string
	for b.Loop() {
		if err := abi.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateSmallStruct(b *testing.B) {
	data, err := abi.Marshal(benchSmallValue)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := abi.Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}

// Command benchreport writes BENCHMARKS.md and its charts from the raw
// `go test -bench` output that `make bench` leaves in a directory:
// default.txt, wazero.txt and wasmer.txt (one per engine build; a missing
// one is reported as not run, one that failed to compile as not built) and
// meta.txt (times, load averages and the exact commands).
//
//	go run ./internal/cmd/benchreport [-raw docs/bench/raw] [-out BENCHMARKS.md] [-charts docs/bench]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aspect-rt/aspect-runtime/internal/benchreport"
)

func main() {
	raw := flag.String("raw", "docs/bench/raw", "directory of the raw outputs (BUILD.txt, meta.txt)")
	out := flag.String("out", "BENCHMARKS.md", "report to write")
	charts := flag.String("charts", "docs/bench", "directory of the chart images")
	flag.Parse()
	if err := run(*raw, *out, *charts); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(raw, out, charts string) error {
	rep := &benchreport.Report{Builds: map[string]*benchreport.Build{}, Machine: benchreport.ReadMachine()}
	for _, name := range benchreport.Builds {
		b, err := benchreport.ReadBuild(filepath.Join(raw, name+".txt"), name)
		if err != nil {
			return err
		}
		if b != nil {
			rep.Builds[name] = b
		}
	}
	if data, err := os.ReadFile(filepath.Join(raw, "meta.txt")); err == nil {
		if rep.Meta, err = benchreport.ParseMeta(bytes.NewReader(data)); err != nil {
			return err
		}
	}
	for _, e := range benchreport.Engines {
		if st := rep.EngineStatus(e); st != "" {
			fmt.Fprintf(os.Stderr, "benchreport: %s: %s\n", e, st)
		}
	}
	if err := rep.WriteCharts(charts, out); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := rep.Write(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	var pass, fail, nm int
	for _, o := range rep.Outcomes() {
		switch o.Status {
		case benchreport.Pass:
			pass++
		case benchreport.Fail:
			fail++
		default:
			nm++
		}
	}
	fmt.Fprintf(os.Stderr, "benchreport: wrote %s and %d charts; targets: %d pass, %d fail, %d not measured yet\n", out, len(rep.Charts), pass, fail, nm)
	return nil
}

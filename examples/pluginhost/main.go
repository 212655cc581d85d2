// Command pluginhost is a small plugin host built on aspect-runtime: it loads
// every WebAssembly plugin of a directory, compiling each once, and serves
// requests read from stdin through a pool of warm instances, several at a
// time.
//
// Each line of input is one request, "PLUGIN METHOD [ARGUMENT]": the plugin's
// file name without .wasm, the export to call, and the rest of the line,
// passed as one String argument (no argument when it is absent). Each request
// gets one line of output, in the order of the input: "PLUGIN.METHOD: RESULT"
// or "PLUGIN.METHOD: error: MESSAGE". Every call has a gas budget (-gas): a
// plugin that loops forever fails with "out of gas" and the host carries on.
//
// Plugins may import one host function, index/host.greeting(String) -> String,
// bound per request (the pool gives each lease its own registry).
//
// Usage:
//
//	pluginhost [-plugins DIR] [-gas N] [-workers N] < requests
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pluginhost:", err)
		}
		os.Exit(2)
	}
}

// run is the whole program but its exit: it parses args, loads the plugins
// and serves the requests of stdin until its end.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("pluginhost", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("plugins", "plugins", "the directory of the plugins (*.wasm)")
	gas := flags.Uint64("gas", 10_000_000, "the gas budget of each call")
	workers := flags.Int("workers", goruntime.NumCPU(), "the requests served at a time")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if *workers < 1 {
		return fmt.Errorf("-workers must be at least 1")
	}

	h, err := load(ctx, *dir, *workers, *gas)
	if err != nil {
		return err
	}
	defer h.close(ctx)
	fmt.Fprintf(stderr, "pluginhost: loaded %s\n", strings.Join(h.names(), ", "))
	return h.serve(ctx, stdin, stdout)
}

// host holds the compiled plugins and the pool of their instances.
type host struct {
	plugins map[string]*runtime.Module
	pool    *pool.Pool
	workers int    // requests served at a time
	gas     uint64 // the budget of each call
}

// load compiles every *.wasm of dir once, metered, with dirty-page tracking
// so that the pool's reset between leases restores only what a request wrote;
// the pool keeps as many idle instances as there are workers.
func load(ctx context.Context, dir string, workers int, gas uint64) (*host, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no plugins (*.wasm) in %s", dir)
	}
	h := &host{plugins: map[string]*runtime.Module{}, pool: pool.New(workers), workers: workers, gas: gas}
	for _, path := range paths {
		code, err := os.ReadFile(path)
		if err != nil {
			h.close(ctx)
			return nil, err
		}
		mod, err := runtime.Compile(ctx, code, runtime.WithMetering(metering.Config{}), runtime.WithDirtyPageTracking())
		if err != nil {
			h.close(ctx)
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		h.plugins[strings.TrimSuffix(filepath.Base(path), ".wasm")] = mod
	}
	return h, nil
}

func (h *host) names() []string {
	names := make([]string, 0, len(h.plugins))
	for name := range h.plugins {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// close closes the pool, then the modules (the pool does not own them).
func (h *host) close(ctx context.Context) {
	_ = h.pool.Close(ctx)
	for _, mod := range h.plugins {
		_ = mod.Close(ctx)
	}
}

// serve answers every request of in, about h.workers at a time,
// writing the answers to out in the order of the requests.
func (h *host) serve(ctx context.Context, in io.Reader, out io.Writer) error {
	answers := make(chan chan string, h.workers)
	readErr := make(chan error, 1)
	go func() {
		defer close(answers)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				n--
				continue
			}
			answer := make(chan string, 1)
			select {
			case answers <- answer: // waits while capacity requests are in flight
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
			go func() { answer <- h.handle(ctx, n, line) }()
		}
		readErr <- sc.Err()
	}()
	w := bufio.NewWriter(out)
	for answer := range answers {
		fmt.Fprintln(w, <-answer)
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return <-readErr
}

// handle serves request number n, "PLUGIN METHOD [ARGUMENT]".
func (h *host) handle(ctx context.Context, n int, line string) string {
	fields := strings.SplitN(line, " ", 3)
	if len(fields) < 2 {
		return fmt.Sprintf("%s: error: want PLUGIN METHOD [ARGUMENT]", line)
	}
	plugin, method := fields[0], fields[1]
	var args []any
	if len(fields) == 3 {
		args = append(args, fields[2])
	}
	label := plugin + "." + method
	mod, ok := h.plugins[plugin]
	if !ok {
		return fmt.Sprintf("%s: error: no plugin %q", label, plugin)
	}

	// A registry per request: its function knows which request it serves.
	reg := runtime.NewHostAPIRegistry()
	if err := reg.AddAPI("index", "host", "greeting", func(name string) string {
		return fmt.Sprintf("Hello, %s! (request %d)", name, n)
	}); err != nil {
		return fmt.Sprintf("%s: error: %v", label, err)
	}
	lease, err := h.pool.RuntimeFor(ctx, mod, reg)
	if err != nil {
		return fmt.Sprintf("%s: error: %v", label, err)
	}
	defer h.pool.PutBack(lease)

	result, err := lease.Runtime.Call(runtime.WithMeter(ctx, runtime.NewMeter(h.gas)), method, args...)
	if err != nil {
		return fmt.Sprintf("%s: error: %v", label, err)
	}
	return fmt.Sprintf("%s: %v", label, result)
}

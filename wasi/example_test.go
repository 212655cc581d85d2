package wasi_test

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"

	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// catGuest exports cat(path), which copies a file of its first mounted
// directory to stdout through WASI and returns the errno (source:
// testdata/example_cat.wat).
//
//go:embed testdata/example_cat.wasm
var catGuest []byte

// A guest reads a host directory mounted at /site, read-only, and writes to
// stdout, which the host captures in a buffer. The directory is opened with
// os.OpenRoot, whose FS refuses symbolic links leading out of it.
func Example() {
	ctx := context.Background()
	root, err := os.OpenRoot("testdata/example_site")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer root.Close()

	var stdout bytes.Buffer
	rt, err := runtime.New(ctx, catGuest, nil, runtime.WithWASI(wasi.Config{
		Stdout: &stdout,
		Mounts: []wasi.Mount{{FS: root.FS(), GuestPath: "/site"}},
	}))
	if err != nil {
		fmt.Println("instantiate:", err)
		return
	}
	defer rt.Close(ctx)

	errno, err := runtime.CallAs[int32](ctx, rt, "cat", "hello.txt")
	fmt.Printf("errno %d (%v), err %v, stdout:\n%s", errno, wasi.Errno(errno), err, stdout.String())

	// A missing file, and a path leaving the mount.
	for _, path := range []string{"missing.txt", "../example_cat.wat"} {
		errno, err = runtime.CallAs[int32](ctx, rt, "cat", path)
		fmt.Printf("%s: errno %d (%v), err %v\n", path, errno, wasi.Errno(errno), err)
	}
	// Output:
	// errno 0 (ESUCCESS), err <nil>, stdout:
	// Hello from a mounted directory!
	// Second line.
	// missing.txt: errno 44 (ENOENT), err <nil>
	// ../example_cat.wat: errno 76 (ENOTCAPABLE), err <nil>
}

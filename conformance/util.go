package conformance

import (
	"context"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func callAs[T any](rt *runtime.Runtime, method string, args ...any) (T, error) {
	return runtime.CallAs[T](context.Background(), rt, method, args...)
}

func mustFixture(path string) []byte { return fixtures.MustBytes(path) }

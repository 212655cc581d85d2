package conformance

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// counterpart makes Env.New instantiate, instead of the AssemblyScript
// fixture it is asked for, that fixture's counterpart in another guest
// language (the Go fixtures, goguest.go; the Rust ones, rustguest.go).
type counterpart struct {
	lang     string            // "Go", "Rust"; lower-cased, the mirrored cases' prefix
	fixtures map[string]string // AssemblyScript fixture → its counterpart
	// instantiate instantiates a counterpart fixture, closed at test end.
	instantiate func(t *testing.T, engine, fixture string, reg *runtime.HostAPIRegistry, opts []runtime.Option) *runtime.Runtime
	used        int // instances created
}

// instead returns an instance of the counterpart of the AssemblyScript
// fixture, or nil if g is nil (Env.New then instantiates the fixture
// itself).
func (g *counterpart) instead(t *testing.T, engine, fixture string, reg *runtime.HostAPIRegistry, opts []runtime.Option) *runtime.Runtime {
	if g == nil {
		return nil
	}
	t.Helper()
	f, ok := g.fixtures[fixture]
	require.True(t, ok, "no %s counterpart of fixture %s", g.lang, fixture)
	g.used++
	return g.instantiate(t, engine, f, reg, opts)
}

// mirrorOn runs c on the counterparts newGuest makes and on the
// AssemblyScript fixtures, and asserts identical outcomes.
func mirrorOn(c Case, prefix string, newGuest func() *counterpart) Case {
	return Case{Name: prefix + "/" + c.Name, Run: func(t *testing.T, env *Env) string {
		g := newGuest()
		got := c.Run(t, &Env{Engine: env.Engine, counterpart: g})
		require.NotZero(t, g.used, "case %s did not instantiate a %s fixture", c.Name, g.lang)
		want := c.Run(t, &Env{Engine: env.Engine})
		require.Equal(t, want, got, "case %s: the %s guest's outcome differs from the AssemblyScript guest's", c.Name, g.lang)
		return got
	}}
}

package conformance

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// goldenTable is a committed table of one value per case name, embedded in
// the package and rewritten in place when updating (gas.golden,
// outcomes.golden). A line is a name, a separator and a value; with quote,
// the separator is a tab and the value a Go string literal, otherwise a
// space and the value as is. Lines starting with # are comments.
type goldenTable struct {
	file   string // under testdata/
	header string
	quote  bool

	mu   sync.Mutex
	text string // the embedded table, or the file once updated
}

func (g *goldenTable) sep() string {
	if g.quote {
		return "\t"
	}
	return " "
}

// parse returns the table's entries. g.mu is held.
func (g *goldenTable) parse() map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(g.text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), g.sep())
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if g.quote {
			v, err := strconv.Unquote(val)
			if err != nil {
				continue
			}
			val = v
		}
		out[name] = val
	}
	return out
}

// entries returns the table's entries.
func (g *goldenTable) entries() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.parse()
}

func (g *goldenTable) path() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", g.file)
}

// update rewrites the file with edit applied to its entries.
func (g *goldenTable) update(t *testing.T, edit func(map[string]string) map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, err := os.ReadFile(g.path()); err == nil {
		g.text = string(b)
	}
	table := edit(g.parse())
	var lines []string
	for k, v := range table {
		if g.quote {
			v = strconv.Quote(v)
		}
		lines = append(lines, k+g.sep()+v)
	}
	sort.Strings(lines)
	var buf bytes.Buffer
	buf.WriteString(g.header + "\n")
	for _, l := range lines {
		buf.WriteString(l + "\n")
	}
	require.NoError(t, os.WriteFile(g.path(), buf.Bytes(), 0o644))
	g.text = buf.String()
}

// record sets name's value, when updating.
func (g *goldenTable) record(t *testing.T, name, value string) {
	g.update(t, func(m map[string]string) map[string]string { m[name] = value; return m })
}

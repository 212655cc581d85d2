package benchreport

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart colours: one per engine, and library vs hand-written.
var (
	engineColors = map[string]color.Color{
		"wasmtime": color.RGBA{R: 0x4c, G: 0x72, B: 0xb0, A: 0xff},
		"wazero":   color.RGBA{R: 0xdd, G: 0x84, B: 0x52, A: 0xff},
		"wasmer":   color.RGBA{R: 0x55, G: 0xa8, B: 0x68, A: 0xff},
	}
	libraryColor  = color.RGBA{R: 0x4c, G: 0x72, B: 0xb0, A: 0xff}
	baselineColor = color.RGBA{R: 0xaa, G: 0xaa, B: 0xaa, A: 0xff}
)

// series is one set of bars of a grouped horizontal bar chart.
type series struct {
	name   string
	color  color.Color
	values []float64 // one per category; <= 0 or NaN: missing
}

// barChart describes a grouped horizontal bar chart.
type barChart struct {
	title, xLabel string
	categories    []string // top to bottom
	series        []series
	// log draws the value axis in log10 scale; format labels the ticks and
	// the bars.
	log    bool
	format func(float64) string
	// scale is the unit linear ticks are placed in (e.g. 1024 for KiB).
	scale float64
}

// WriteCharts renders the report's charts into dir as PNG files and records
// them in rep.Charts with paths relative to reportPath.
func (rep *Report) WriteCharts(dir, reportPath string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	add := func(file, title string, c barChart) error {
		if len(c.categories) == 0 {
			return nil
		}
		path := filepath.Join(dir, file)
		if err := c.save(path); err != nil {
			return fmt.Errorf("benchreport: chart %s: %w", file, err)
		}
		rep.Charts = append(rep.Charts, Chart{Title: title, Path: RelPath(reportPath, path)})
		return nil
	}
	if err := add("engines.png", "Library figures, engines side by side", rep.enginesChart()); err != nil {
		return err
	}
	for _, e := range Engines {
		if rep.EngineStatus(e) != "" {
			continue
		}
		if err := add("baseline-"+e+".png", "Library vs hand-written baseline on "+e, rep.baselineChart(e)); err != nil {
			return err
		}
	}
	return add("memory.png", "Memory per idle instance", rep.memoryChart())
}

// timeScenarios are the scenarios charted by time.
func timeScenarios() []Scenario {
	var out []Scenario
	for _, s := range Scenarios {
		if s.Unit == "" || s.Unit == "ns/op" {
			out = append(out, s)
		}
	}
	return out
}

func libraryVariant(s Scenario) (Row, bool) {
	for _, r := range s.Rows {
		if r.Library {
			return r, true
		}
	}
	return Row{}, false
}

// chartLabel names scenario s's figure of row r on a chart axis.
func chartLabel(s Scenario, r Row) string {
	if strings.Contains(s.Short, r.Variant) {
		return s.Short
	}
	return s.Short + " (" + r.Variant + ")"
}

func (rep *Report) enginesChart() barChart {
	c := barChart{title: "Library, per operation (log scale; shorter is faster)", xLabel: "time per operation", log: true, format: FormatNs}
	byEngine := map[string][]float64{}
	for _, s := range timeScenarios() {
		r, ok := libraryVariant(s)
		if !ok {
			continue
		}
		c.categories = append(c.categories, chartLabel(s, r))
		for _, e := range Engines {
			v, ok := rep.Median(s, r.Variant, e)
			if !ok {
				v = math.NaN()
			}
			byEngine[e] = append(byEngine[e], v)
		}
	}
	for _, e := range Engines {
		name := e
		if st := rep.EngineStatus(e); st != "" {
			name += " (" + st + ")"
		}
		c.series = append(c.series, series{name: name, color: engineColors[e], values: byEngine[e]})
	}
	return c
}

func (rep *Report) baselineChart(e string) barChart {
	c := barChart{title: e + ": library vs hand-written engine API (log scale)", xLabel: "time per operation", log: true, format: FormatNs}
	var lib, base []float64
	for _, s := range timeScenarios() {
		r, ok := libraryVariant(s)
		if !ok {
			continue
		}
		if _, ok := s.Row("baseline"); !ok {
			continue
		}
		l, ok1 := rep.Median(s, r.Variant, e)
		bl, ok2 := rep.Median(s, "baseline", e)
		if !ok1 && !ok2 {
			continue
		}
		if !ok1 {
			l = math.NaN()
		}
		if !ok2 {
			bl = math.NaN()
		}
		c.categories = append(c.categories, chartLabel(s, r))
		lib, base = append(lib, l), append(base, bl)
	}
	c.series = []series{
		{name: "library", color: libraryColor, values: lib},
		{name: "hand-written (" + e + "'s Go API)", color: baselineColor, values: base},
	}
	return c
}

func (rep *Report) memoryChart() barChart {
	c := barChart{title: "Resident memory per idle instance (as/greet.wasm)", xLabel: "bytes per instance (RSS growth)", format: formatBytes, scale: 1 << 10}
	var s Scenario
	for _, sc := range Scenarios {
		if sc.Bench == "BenchmarkIdleMemory" {
			s = sc
		}
	}
	var lib, base []float64
	for _, e := range Engines {
		l, ok1 := rep.Median(s, "pool", e)
		bl, ok2 := rep.Median(s, "baseline", e)
		if !ok1 && !ok2 {
			continue
		}
		if !ok1 {
			l = math.NaN()
		}
		if !ok2 {
			bl = math.NaN()
		}
		c.categories = append(c.categories, e)
		lib, base = append(lib, l), append(base, bl)
	}
	c.series = []series{
		{name: "library: idle in a pool", color: libraryColor, values: lib},
		{name: "hand-written instance", color: baselineColor, values: base},
	}
	return c
}

// save renders c as a PNG (or SVG, by the file's extension) at path.
func (c barChart) save(path string) error {
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text = c.xLabel
	p.Legend.Top = true
	p.Legend.Left = false

	// Bars are drawn from the value axis' origin. In log scale a bar's
	// length is log10(v/floor), and the ticks label the decades.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, v := range s.values {
			if v > 0 && !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	floor := 1.0
	if c.log {
		floor = math.Pow(10, math.Floor(math.Log10(lo)-0.5))
	}
	length := func(v float64) float64 {
		switch {
		case math.IsNaN(v) || v <= 0:
			return 0
		case c.log:
			return math.Log10(v / floor)
		}
		return v
	}

	n := len(c.categories)
	nSeries := len(c.series)
	barWidth := vg.Points(11)
	// Categories top to bottom: the value axis counts from the bottom.
	for i, s := range c.series {
		vals := make(plotter.Values, n)
		var labels plotter.XYLabels
		for j := range n {
			k := n - 1 - j
			vals[k] = length(s.values[j])
			text := "n/a"
			if v := s.values[j]; v > 0 && !math.IsNaN(v) {
				text = c.format(v)
			}
			labels.XYs = append(labels.XYs, plotter.XY{X: vals[k], Y: float64(k)})
			labels.Labels = append(labels.Labels, text)
		}
		bars, err := plotter.NewBarChart(vals, barWidth)
		if err != nil {
			return err
		}
		bars.Horizontal = true
		bars.Color = s.color
		bars.LineStyle.Width = 0
		offset := (float64(nSeries-1)/2 - float64(i)) * float64(barWidth)
		bars.Offset = vg.Length(offset)
		p.Add(bars)
		p.Legend.Add(s.name, bars)

		l, err := plotter.NewLabels(labels)
		if err != nil {
			return err
		}
		for k := range l.TextStyle {
			l.TextStyle[k].Font.Size = vg.Points(7)
			l.TextStyle[k].YAlign = draw.YCenter
		}
		l.Offset = vg.Point{X: vg.Points(3), Y: vg.Length(offset)}
		p.Add(l)
	}
	names := make([]string, n)
	for j, cat := range c.categories {
		names[n-1-j] = cat
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.Add(plotter.NewGrid())

	maxLen := length(hi)
	p.X.Min = 0
	if c.log {
		p.X.Max = math.Ceil(maxLen+0.35) + 1 // a decade of room for the legend
		p.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
			var ticks []plot.Tick
			for k := 0.0; k <= max; k++ {
				ticks = append(ticks, plot.Tick{Value: k, Label: trimZeros(c.format(floor * math.Pow(10, k)))})
				for m := 2.0; m < 10; m++ {
					if v := k + math.Log10(m); v <= max {
						ticks = append(ticks, plot.Tick{Value: v})
					}
				}
			}
			return ticks
		})
	} else {
		p.X.Max = hi * 1.6 // room for the legend
		scale := c.scale
		if scale == 0 {
			scale = 1
		}
		p.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
			ticks := plot.DefaultTicks{}.Ticks(min/scale, max/scale)
			for i := range ticks {
				ticks[i].Value *= scale
				if ticks[i].Label != "" {
					ticks[i].Label = trimZeros(c.format(ticks[i].Value))
				}
			}
			return ticks
		})
	}
	height := vg.Length(n*nSeries)*barWidth*1.35 + 2.2*vg.Inch
	return p.Save(9*vg.Inch, height, path)
}

// trimZeros turns "1.00 µs" into "1 µs" and "10.0 ns" into "10 ns".
func trimZeros(s string) string {
	num, unit, ok := strings.Cut(s, " ")
	if !ok || !strings.Contains(num, ".") {
		return s
	}
	num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	return num + " " + unit
}

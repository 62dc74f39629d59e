package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// scaleChartDef is one PNG line chart of a report: Values[Key] against X,
// one line per target.
type scaleChartDef struct {
	File, Title, Key, YLabel string
	LogX                     bool
}

// chartSeries is one line.
type chartSeries struct {
	Name   string
	XS, YS []float64
}

func (c scaleChartDef) write(dir string, r *scaleReport) error {
	byTarget := map[string]*chartSeries{}
	var order []string
	for _, p := range r.Points {
		v, ok := p.Values[c.Key]
		if !ok || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		s := byTarget[p.Target]
		if s == nil {
			s = &chartSeries{Name: p.Target}
			byTarget[p.Target] = s
			order = append(order, p.Target)
		}
		s.XS = append(s.XS, p.X)
		s.YS = append(s.YS, v)
	}
	var series []chartSeries
	for _, n := range order {
		series = append(series, *byTarget[n])
	}
	img := drawLineChart(c.Title, r.xName(), c.YLabel, series, c.LogX)
	f, err := os.Create(filepath.Join(dir, c.File))
	if err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write chart %s: %w", c.File, err)
	}
	return f.Close()
}

// chartColors are the lines' colours, in target order.
var chartColors = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

const (
	chartW, chartH = 720, 420
	padL, padR     = 80, 20
	padT, padB     = 40, 60
)

// drawLineChart draws series on axes from 0 (or the smallest x on a log
// axis) to a rounded maximum, with the title, tick labels and a legend.
func drawLineChart(title, xlabel, ylabel string, series []chartSeries, logX bool) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, chartW, chartH))
	fillRect(img, 0, 0, chartW, chartH, color.RGBA{255, 255, 255, 255})
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range series {
		for i := range s.XS {
			xmin, xmax = math.Min(xmin, s.XS[i]), math.Max(xmax, s.XS[i])
			ymax = math.Max(ymax, s.YS[i])
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 0, 1
	}
	if !logX {
		xmin = math.Min(xmin, 0)
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	ymax = niceCeil(ymax)
	if ymax <= 0 {
		ymax = 1
	}
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	tx := func(x float64) int {
		if logX {
			lo, hi := math.Log10(math.Max(xmin, 1e-9)), math.Log10(math.Max(xmax, 1e-9))
			if hi <= lo {
				hi = lo + 1
			}
			return padL + int(float64(plotW)*(math.Log10(math.Max(x, 1e-9))-lo)/(hi-lo))
		}
		return padL + int(float64(plotW)*(x-xmin)/(xmax-xmin))
	}
	ty := func(y float64) int { return padT + plotH - int(float64(plotH)*y/ymax) }
	grey := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	black := color.RGBA{0, 0, 0, 0xff}
	// Horizontal grid and y ticks.
	for i := 0; i <= 5; i++ {
		y := ymax * float64(i) / 5
		py := ty(y)
		hline(img, padL, padL+plotW, py, grey)
		lbl := formatTick(y)
		drawText(img, padL-6-textWidth(lbl), py-3, lbl, black)
	}
	// X ticks: the points' x values on a log axis, 5 steps otherwise.
	var xt []float64
	if logX {
		seen := map[float64]bool{}
		for _, s := range series {
			for _, x := range s.XS {
				if !seen[x] {
					seen[x] = true
					xt = append(xt, x)
				}
			}
		}
		sort.Float64s(xt)
	} else {
		for i := 0; i <= 5; i++ {
			xt = append(xt, xmin+(xmax-xmin)*float64(i)/5)
		}
	}
	for _, x := range xt {
		px := tx(x)
		vline(img, px, padT, padT+plotH, grey)
		lbl := formatTick(x)
		drawText(img, px-textWidth(lbl)/2, padT+plotH+6, lbl, black)
	}
	hline(img, padL, padL+plotW, padT+plotH, black)
	vline(img, padL, padT, padT+plotH, black)
	drawText(img, padL, 12, title, black)
	drawText(img, padL+plotW/2-textWidth(xlabel)/2, padT+plotH+22, xlabel, black)
	drawText(img, 6, padT-14, ylabel, black)
	for i, s := range series {
		c := chartColors[i%len(chartColors)]
		for j := range s.XS {
			x, y := tx(s.XS[j]), ty(s.YS[j])
			fillRect(img, x-3, y-3, x+4, y+4, c)
			if j > 0 {
				drawLine(img, tx(s.XS[j-1]), ty(s.YS[j-1]), x, y, c)
			}
		}
		// Legend below the axis label.
		lx := padL + i*150
		ly := chartH - 16
		fillRect(img, lx, ly, lx+12, ly+7, c)
		drawText(img, lx+16, ly, s.Name, black)
	}
	return img
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// formatTick prints a tick value compactly: 1500 as 1.5K, 2000000 as 2M.
func formatTick(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(math.Round(v/100)/10, 'f', -1, 64) + "K"
	case a >= 10 || a == 0:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	default:
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
}

func fillRect(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if image.Pt(x, y).In(img.Rect) {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) { fillRect(img, x0, y, x1+1, y+1, c) }
func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) { fillRect(img, x, y0, x+1, y1+1, c) }

// drawLine draws a 2-pixel line (Bresenham).
func drawLine(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		fillRect(img, x0, y0, x0+2, y0+2, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// A 5×7 bitmap font: enough for titles, labels and numbers (lower case is
// drawn as upper case).
var glyphs = map[rune][7]string{
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"####.", "....#", "....#", ".###.", "....#", "....#", "####."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {".###.", "#....", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "....#", ".###."},
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C': {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D': {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
	'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'F': {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
	'G': {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"},
	'H': {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'I': {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'J': {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K': {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'M': {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'N': {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
	'O': {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q': {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'V': {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
	'W': {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
	'X': {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
	'Y': {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	'Z': {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
	'.': {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	',': {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."},
	'-': {".....", ".....", ".....", "#####", ".....", ".....", "....."},
	'/': {"....#", "....#", "...#.", "..#..", ".#...", "#....", "#...."},
	'%': {"##..#", "##..#", "...#.", "..#..", ".#...", "#..##", "#..##"},
	'(': {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."},
	')': {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."},
	':': {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."},
	'=': {".....", ".....", "#####", ".....", "#####", ".....", "....."},
	'+': {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."},
	'_': {".....", ".....", ".....", ".....", ".....", ".....", "#####"},
	'×': {".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "....."},
	' ': {".....", ".....", ".....", ".....", ".....", ".....", "....."},
}

// textWidth is the width in pixels of s drawn by drawText.
func textWidth(s string) int { return 6 * len([]rune(s)) }

// drawText draws s with its top-left corner at (x, y); characters without
// a glyph are drawn as blanks.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range strings.ToUpper(s) {
		g, ok := glyphs[r]
		if ok {
			for row, line := range g {
				for col, ch := range line {
					if ch == '#' && image.Pt(x+col, y+row).In(img.Rect) {
						img.SetRGBA(x+col, y+row, c)
					}
				}
			}
		}
		x += 6
	}
}

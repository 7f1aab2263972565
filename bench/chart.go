package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

// barChart is a horizontal grouped bar chart: one group per row label, one
// bar per series in each group. Horizontal bars leave room for the long
// labels benchmarks have ("Scale 1080→576 Lanczos-3, SD").
type barChart struct {
	Title  string
	Note   string   // a line under the title: the unit, what longer means
	Series []string // legend, one colour each
	Groups []barGroup
	// Ref draws a vertical line at a value, such as a target or ratio 1.
	Ref *refLine
}

type barGroup struct {
	Label  string
	Values []float64 // one per series; NaN leaves the bar out
	Texts  []string  // printed after each bar; "" prints the value
}

type refLine struct {
	Value float64
	Label string
}

var (
	seriesColours = []color.RGBA{{217, 95, 2, 255}, {68, 110, 170, 255}, {102, 166, 30, 255}, {150, 150, 150, 255}}
	inkColour     = color.RGBA{30, 30, 30, 255}
	gridColour    = color.RGBA{215, 215, 215, 255}
	refColour     = color.RGBA{200, 30, 30, 255}
)

// writePNG renders the chart into path.
func (c barChart) writePNG(path string) error {
	const (
		scale    = 2
		width    = 1400
		margin   = 20
		barH     = 18
		barGap   = 4
		groupGap = 14
	)
	labelW, valueW := 0, 0
	for _, g := range c.Groups {
		labelW = max(labelW, textWidth(g.Label, scale))
		for i, v := range g.Values {
			text := formatValue(v)
			if i < len(g.Texts) && g.Texts[i] != "" {
				text = g.Texts[i]
			}
			// Room right of the longest bar for its text.
			valueW = max(valueW, textWidth(text, scale)+12)
		}
	}
	n := max(len(c.Series), 1)
	top := margin + glyphH*scale + 8
	if c.Note != "" {
		top += glyphH*scale + 4
	}
	legendY := top
	top += glyphH*scale + 12
	groupH := n*barH + (n-1)*barGap
	height := top + len(c.Groups)*(groupH+groupGap) + margin
	if c.Ref != nil {
		height += glyphH*scale + 6
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)

	drawText(img, margin, margin, c.Title, scale, inkColour)
	if c.Note != "" {
		drawText(img, margin, margin+glyphH*scale+4, c.Note, scale, inkColour)
	}
	x := margin
	for i, s := range c.Series {
		col := seriesColours[i%len(seriesColours)]
		fillRect(img, x, legendY, 14, 14, col)
		drawText(img, x+20, legendY, s, scale, inkColour)
		x += 20 + textWidth(s, scale) + 24
	}

	x0 := margin + labelW + 12
	x1 := width - margin - valueW
	maxV := 0.0
	for _, g := range c.Groups {
		for _, v := range g.Values {
			if !math.IsNaN(v) {
				maxV = math.Max(maxV, v)
			}
		}
	}
	if c.Ref != nil {
		maxV = math.Max(maxV, c.Ref.Value)
	}
	if maxV <= 0 {
		maxV = 1
	}
	px := func(v float64) int { return x0 + int(math.Round(v/maxV*float64(x1-x0))) }

	y := top
	for _, g := range c.Groups {
		drawText(img, margin, y+groupH/2-glyphH*scale/2, g.Label, scale, inkColour)
		for i := range c.Series {
			by := y + i*(barH+barGap)
			if i >= len(g.Values) || math.IsNaN(g.Values[i]) {
				text := "n/a"
				if i < len(g.Texts) && g.Texts[i] != "" {
					text = g.Texts[i]
				}
				drawText(img, x0+4, by+2, text, scale, inkColour)
				continue
			}
			end := px(g.Values[i])
			fillRect(img, x0, by, max(end-x0, 1), barH, seriesColours[i%len(seriesColours)])
			text := formatValue(g.Values[i])
			if i < len(g.Texts) && g.Texts[i] != "" {
				text = g.Texts[i]
			}
			drawText(img, end+6, by+2, text, scale, inkColour)
		}
		y += groupH + groupGap
	}
	// The axis.
	fillRect(img, x0-1, top-4, 1, y-top, gridColour)
	if c.Ref != nil {
		rx := px(c.Ref.Value)
		for yy := top - 4; yy < y; yy += 8 {
			fillRect(img, rx, yy, 2, 4, refColour)
		}
		lx := max(min(rx-textWidth(c.Ref.Label, scale)/2, width-margin-textWidth(c.Ref.Label, scale)), margin)
		drawText(img, lx, y, c.Ref.Label, scale, refColour)
	}

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func fillRect(img *image.RGBA, x, y, w, h int, c color.Color) {
	draw.Draw(img, image.Rect(x, y, x+w, y+h), image.NewUniform(c), image.Point{}, draw.Src)
}

// formatValue prints a value with about three significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

package kernels

import "testing"

// 75% colour bars (white, yellow, cyan, green, magenta, red, blue, black)
// in 8-bit limited-range Y'CbCr: BT.601 as EBU/BT.801 bars, BT.709 as
// SMPTE RP 219 bars.
var bars = map[Matrix][8][3]int{
	BT601: {{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
		{84, 184, 198}, {65, 100, 212}, {35, 212, 114}, {16, 128, 128}},
	BT709: {{180, 128, 128}, {168, 44, 136}, {145, 147, 44}, {134, 63, 52},
		{63, 193, 204}, {51, 109, 212}, {28, 212, 120}, {16, 128, 128}},
}

// barsFrame paints the eight bars as 16-pixel-wide columns.
func barsFrame(m Matrix, c Chroma, depth int) *Frame {
	f := NewFrame(Format{128, 16, c, depth})
	s := uint(depth - 8)
	for i := 0; i < 3; i++ {
		pl := &f.Planes[i]
		for y := 0; y < pl.Height; y++ {
			for x := 0; x < pl.Width; x++ {
				bar := x * 8 / pl.Width
				f.Set(i, x, y, bars[m][bar][i]<<s)
			}
		}
	}
	return f
}

func TestFromRGBGivesBars(t *testing.T) {
	rgb := [8][3]uint8{{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0},
		{191, 0, 191}, {191, 0, 0}, {0, 0, 191}, {0, 0, 0}}
	for m, want := range bars {
		for i, c := range rgb {
			y, cb, cr := m.FromRGB(c[0], c[1], c[2], 8)
			if got := [3]int{y, cb, cr}; !within(got, want[i], 1) {
				t.Errorf("%v bar %d: %v, want %v", m, i, got, want[i])
			}
		}
	}
}

func within(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

func convert(t *testing.T, src *Frame, from, to Matrix) *Frame {
	t.Helper()
	c, err := NewMatrixConverter(from, to)
	if err != nil {
		t.Fatal(err)
	}
	out := NewFrame(src.Format)
	if err := CPU().ConvertMatrix(out, src, c); err != nil {
		t.Fatal(err)
	}
	return out
}

// Converting one standard's bars must give the other's within one code,
// at every subsampling (bars are 16 luma wide, so chroma is flat per bar).
func TestConvertMatrixBars(t *testing.T) {
	for _, c := range []Chroma{Chroma420, Chroma422, Chroma444} {
		for _, pair := range [][2]Matrix{{BT709, BT601}, {BT601, BT709}} {
			out := convert(t, barsFrame(pair[0], c, 8), pair[0], pair[1])
			for bar := 0; bar < 8; bar++ {
				got := [3]int{out.At(0, bar*16+8, 8), out.At(1, (bar*16+8)*out.Planes[1].Width/128, 4), out.At(2, (bar*16+8)*out.Planes[1].Width/128, 4)}
				if !within(got, bars[pair[1]][bar], 1) {
					t.Errorf("%v %v->%v bar %d: %v, want %v", c, pair[0], pair[1], bar, got, bars[pair[1]][bar])
				}
			}
		}
	}
}

// 709 -> 601 -> 709 comes back within one code on a detailed picture, at
// 8 and 10 bits. The picture's chroma is first brought to 3/4, as 75% bars
// are: at full saturation one direction leaves the legal range, is clipped,
// and no matrix can bring it back.
func TestConvertMatrixRoundTrip(t *testing.T) {
	for _, depth := range []int{8, 10} {
		f := Format{352, 288, Chroma420, depth}
		src := lavfi(t, "testsrc2=size=352x288:rate=1", 1, f)[0]
		for i := 1; i < 3; i++ {
			pl := &src.Planes[i]
			for y := 0; y < pl.Height; y++ {
				for x := 0; x < pl.Width; x++ {
					src.Set(i, x, y, src.Black(i)+(src.At(i, x, y)-src.Black(i))*3/4)
				}
			}
		}
		back := convert(t, convert(t, src, BT709, BT601), BT601, BT709)
		worst := 0
		for i := 0; i < 3; i++ {
			pl := &src.Planes[i]
			for y := 0; y < pl.Height; y++ {
				for x := 0; x < pl.Width; x++ {
					worst = max(worst, abs(src.At(i, x, y)-back.At(i, x, y)))
				}
			}
		}
		t.Logf("%d-bit round trip: worst difference %d", depth, worst)
		if worst > 1 {
			t.Errorf("%d-bit round trip differs by %d codes", depth, worst)
		}
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

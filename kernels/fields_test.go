package kernels

import (
	"math/rand/v2"
	"testing"
)

func TestWeaveUndoesSeparate(t *testing.T) {
	for _, f := range []Format{{720, 576, Chroma420, 8}, {64, 36, Chroma422, 10}} {
		src := numbered(f)
		ff, err := FieldFormat(f)
		if err != nil {
			t.Fatal(err)
		}
		top, bot, back := NewFrame(ff), NewFrame(ff), NewFrame(f)
		if err := CPU().SeparateFields(top, bot, src); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			pl := &top.Planes[i]
			for y := 0; y < pl.Height; y++ {
				for x := 0; x < pl.Width; x += 7 {
					if top.At(i, x, y) != src.At(i, x, 2*y) || bot.At(i, x, y) != src.At(i, x, 2*y+1) {
						t.Fatalf("%v plane %d field line %d does not hold frame lines %d/%d", f, i, y, 2*y, 2*y+1)
					}
				}
			}
		}
		if err := CPU().WeaveFields(back, top, bot); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if ps := planePSNR(src, back, i); ps < 1000 {
				t.Fatalf("%v plane %d: weave(separate(x)) != x (PSNR %.1f)", f, i, ps)
			}
		}
	}
	if _, err := FieldFormat(Format{720, 486, Chroma420, 8}); err == nil {
		t.Error("486-line 4:2:0 has unequal chroma fields and must be refused")
	}
}

func TestReverseFieldOrder(t *testing.T) {
	f := Format{64, 32, Chroma420, 8}
	src := numbered(f)
	bff, back := NewFrame(f), NewFrame(f)
	if err := CPU().ReverseFieldOrder(bff, src, TopFieldFirst); err != nil {
		t.Fatal(err)
	}
	if err := CPU().ReverseFieldOrder(back, bff, BottomFieldFirst); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		pl := &src.Planes[i]
		for y := 0; y < pl.Height; y++ {
			for x := 0; x < pl.Width; x++ {
				// Moved down: line y holds old line y-1; line 0 old line 1.
				want := src.At(i, x, max(y-1, 1-y))
				if got := bff.At(i, x, y); got != want {
					t.Fatalf("plane %d (%d,%d): %d, want %d", i, x, y, got, want)
				}
				if y < pl.Height-1 && back.At(i, x, y) != src.At(i, x, y) {
					t.Fatalf("plane %d line %d not restored by the reverse conversion", i, y)
				}
			}
		}
	}
}

// Interlacing lines that alternate 100/140 (pure twitter at the line rate):
// both low-passes flatten them to 120 away from the edges, and without a
// filter the lines are woven as they are.
func TestInterlaceFilters(t *testing.T) {
	f := Format{32, 16, Chroma420, 8}
	a, b := NewFrame(f), NewFrame(f)
	for y := 0; y < 16; y++ {
		for x := 0; x < 32; x++ {
			a.Set(0, x, y, 100+40*(y&1))
			b.Set(0, x, y, 50+y)
		}
	}
	for _, fr := range []*Frame{a, b} {
		fr.Fill(1, 128)
		fr.Fill(2, 128)
	}
	for _, c := range []struct {
		filter InterlaceFilter
		order  FieldOrder
	}{{InterlaceLinear, TopFieldFirst}, {InterlaceComplex, BottomFieldFirst}, {InterlaceNone, TopFieldFirst}} {
		d := NewFrame(f)
		if err := CPU().Interlace(d, a, b, c.order, c.filter); err != nil {
			t.Fatal(err)
		}
		first := c.order.firstParity()
		for y := 2; y < 14; y++ {
			want := 50 + y // b is a vertical ramp: every filter keeps it
			if y&1 == first {
				want = 120
				if c.filter == InterlaceNone {
					want = 100 + 40*(y&1)
				}
			}
			if got := d.At(0, 5, y); got != want {
				t.Errorf("%v %v line %d: %d, want %d", c.filter, c.order, y, got, want)
			}
		}
	}
}

// Without motion, prev = cur = next, every motion measure is zero and the
// missing lines come from the other field unchanged: the woven frame.
func TestDeinterlaceStillIsExact(t *testing.T) {
	f := Format{352, 288, Chroma420, 8}
	src := lavfi(t, "testsrc2=size=352x288:rate=1", 1, f)[0]
	for _, order := range []FieldOrder{TopFieldFirst, BottomFieldFirst} {
		for _, second := range []bool{false, true} {
			out := NewFrame(f)
			if err := CPU().Deinterlace(out, src, src, src, order, second); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if ps := planePSNR(src, out, i); ps < 1000 {
					t.Errorf("%v second=%v plane %d: PSNR %.2f dB, want identical", order, second, i, ps)
				}
			}
		}
	}
}

// A moving 50p sequence is interlaced to 25i and brought back to 50p by
// Kiln and by ffmpeg's bwdif; each is scored by luma PSNR against the
// progressive original.
func TestDeinterlaceAgainstBwdif(t *testing.T) {
	const n = 12 // progressive frames, 6 interlaced
	f := Format{720, 576, Chroma420, 8}
	prog := lavfi(t, "mandelbrot=size=1280x800:rate=50,crop=720:576:x='40+t*180':y='20+t*90',"+
		"drawbox=x='600-t*400':y=200:w=90:h=90:color=white@1:t=fill", n, f)
	for _, order := range []FieldOrder{TopFieldFirst, BottomFieldFirst} {
		mode, parity := "interleave_top", "tff"
		if order == BottomFieldFirst {
			mode, parity = "interleave_bottom", "bff"
		}
		inter := ffFilter(t, prog, "50", "tinterlace=mode="+mode+",setfield="+parity, f)
		ref := ffFilter(t, inter, "25", "setfield="+parity+",bwdif=mode=send_field:parity="+parity+":deint=all", f)
		var kiln []*Frame
		for k, cur := range inter {
			var prev, next *Frame
			if k > 0 {
				prev = inter[k-1]
			}
			if k+1 < len(inter) {
				next = inter[k+1]
			}
			for _, second := range []bool{false, true} {
				out := NewFrame(f)
				if err := CPU().Deinterlace(out, prev, cur, next, order, second); err != nil {
					t.Fatal(err)
				}
				kiln = append(kiln, out)
			}
		}
		if len(ref) != len(prog) || len(kiln) != len(prog) {
			t.Fatalf("frames: original %d, bwdif %d, kiln %d", len(prog), len(ref), len(kiln))
		}
		// Skip the first and last interlaced frame, where each deinterlacer
		// improvises a missing neighbour its own way.
		pk, pb := seqPSNR(kiln[2:n-2], prog[2:n-2]), seqPSNR(ref[2:n-2], prog[2:n-2])
		t.Logf("%v: luma PSNR vs progressive original: kiln %.2f dB, bwdif %.2f dB", order, pk, pb)
		if pk < pb-1 {
			t.Errorf("%v: kiln %.2f dB is more than 1 dB below bwdif %.2f dB", order, pk, pb)
		}
	}
}

// A field view is the field SeparateFields copies out, sample for sample, and
// writing through the views of a frame is WeaveFields. The pool never takes a
// view, which shares its frame's memory.
func TestFieldView(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, f := range []Format{{720, 576, Chroma420, 8}, {66, 36, Chroma422, 10}, {33, 20, Chroma444, 16}} {
		src := randomFrame(f, rng)
		ff, err := FieldFormat(f)
		if err != nil {
			t.Fatal(err)
		}
		top, bottom := NewFrame(ff), NewFrame(ff)
		if err := CPU().SeparateFields(top, bottom, src); err != nil {
			t.Fatal(err)
		}
		woven := NewFrame(f)
		for parity, field := range []*Frame{top, bottom} {
			v, err := src.FieldView(parity)
			if err != nil {
				t.Fatal(err)
			}
			if v.Format != ff {
				t.Fatalf("%v: view is %v, want %v", f, v.Format, ff)
			}
			for i := 0; i < 3; i++ {
				p := &field.Planes[i]
				for y := 0; y < p.Height; y++ {
					for x := 0; x < p.Width; x++ {
						if v.At(i, x, y) != field.At(i, x, y) {
							t.Fatalf("%v field %d plane %d (%d,%d): view %d, separated %d", f, parity, i, x, y, v.At(i, x, y), field.At(i, x, y))
						}
					}
				}
			}
			w, err := woven.FieldView(parity)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.CopyFrom(field); err != nil {
				t.Fatal(err)
			}
		}
		if d := firstDifference([]*Frame{woven}, []*Frame{sameSamples(t, src)}); d != "" {
			t.Fatalf("%v: writing both field views is not the frame: %s", f, d)
		}
		view, _ := src.FieldView(1)
		CPU().Release(view)
		for k := 0; k < 4; k++ {
			if img, _ := CPU().NewImage(ff); img == Image(view) {
				t.Fatalf("%v: the pool handed out a field view", f)
			}
		}
	}
	if _, err := NewFrame(Format{64, 6, Chroma420, 8}).FieldView(0); err == nil {
		t.Fatal("a 4:2:0 frame of 6 lines has no two equal fields, yet got a view")
	}
}

// sameSamples is a copy of f with zeroed row padding, as a frame written
// sample by sample has.
func sameSamples(t *testing.T, f *Frame) *Frame {
	t.Helper()
	c := NewFrame(f.Format)
	if err := c.CopyFrom(f); err != nil {
		t.Fatal(err)
	}
	return c
}

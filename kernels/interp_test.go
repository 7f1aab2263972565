package kernels

import (
	"testing"
)

// twoMotions is a 50p clip with real detail and two motions: a detailed
// background panning right and down, and a textured box crossing it the
// other way, so that background is covered and uncovered at its edges.
func twoMotions(t testing.TB, n int, f Format) []*Frame {
	return lavfi(t, "mandelbrot=size=1280x800:rate=50:start_scale=1.5:end_scale=1.5[bg];"+
		"testsrc2=size=200x160:rate=50[fg];"+
		"[bg]crop=720:576:x='100+t*250':y='60+t*60'[b];"+
		"[b][fg]overlay=x='480-t*600':y='200+t*50'[out0]", n, f)
}

// Drop every other frame of the clip and rebuild each dropped frame from
// its neighbours with each method; score luma PSNR against the originals.
func TestInterpolateQuality(t *testing.T) {
	const n = 21 // 11 kept frames, 10 rebuilt
	f := Format{720, 576, Chroma420, 8}
	clip := twoMotions(t, n, f)
	var kept, dropped []*Frame
	for k, fr := range clip {
		if k%2 == 0 {
			kept = append(kept, fr)
		} else {
			dropped = append(dropped, fr)
		}
	}
	rebuilt := map[string][]*Frame{}
	var prior *Motion
	for j := 0; j+1 < len(kept); j++ {
		m, err := CPU().EstimateMotion(kept[j], kept[j+1], prior)
		if err != nil {
			t.Fatal(err)
		}
		prior = m
		for _, method := range []FrameRateMethod{MethodMC, MethodBlend, MethodDup} {
			out := NewFrame(f)
			if err := CPU().Interpolate(out, kept[j], kept[j+1], m, 0.5, method); err != nil {
				t.Fatal(err)
			}
			rebuilt[method.String()] = append(rebuilt[method.String()], out)
		}
	}
	// minterpolate on the 25p clip of kept frames: its even outputs are the
	// kept frames, its odd ones the rebuilt. It stops short of the end, so
	// every method is scored on the frames it gave.
	mi := ffFilter(t, kept, "25", "minterpolate=fps=50:mi_mode=mci", f)
	for k := 0; k < len(mi); k++ {
		if k%2 == 0 {
			if ps := planePSNR(mi[k], kept[k/2], 0); ps < 50 {
				t.Fatalf("minterpolate frame %d is not kept frame %d (%.1f dB): misaligned", k, k/2, ps)
			}
		} else if k/2 < len(dropped) {
			rebuilt["minterpolate"] = append(rebuilt["minterpolate"], mi[k])
		}
	}
	cmp := len(rebuilt["minterpolate"])
	if cmp < len(dropped)-2 {
		t.Fatalf("minterpolate gave %d frames for %d kept", len(mi), len(kept))
	}
	dropped = dropped[:cmp]
	for name := range rebuilt {
		rebuilt[name] = rebuilt[name][:cmp]
	}
	score := map[string]float64{}
	t.Logf("rebuilding the %d dropped frames of a 720x576 50p clip (pan + crossing box), luma PSNR:", len(dropped))
	for _, name := range []string{"mc", "minterpolate", "blend", "dup"} {
		score[name] = seqPSNR(rebuilt[name], dropped)
		t.Logf("| %-22s | %6.2f dB |", map[string]string{"mc": "kiln mc", "blend": "kiln blend", "dup": "kiln dup",
			"minterpolate": "ffmpeg minterpolate mci"}[name], score[name])
	}
	if score["mc"] < score["blend"]+1 || score["mc"] < score["dup"]+1 {
		t.Errorf("mc %.2f dB does not beat blend %.2f dB and dup %.2f dB by 1 dB", score["mc"], score["blend"], score["dup"])
	}
	if score["mc"] < score["minterpolate"]-0.1 {
		t.Errorf("mc %.2f dB is below minterpolate %.2f dB", score["mc"], score["minterpolate"])
	}
}

// Across a cut, motion interpolation must not morph one scene into the
// other: it repeats the nearer picture, exactly. Inside a shot it must not
// take motion for a cut.
func TestInterpolateSceneCut(t *testing.T) {
	f := Format{352, 288, Chroma420, 8}
	a := lavfi(t, "testsrc2=size=352x288:rate=1", 1, f)[0]
	b := texture(f, 7)
	m, err := CPU().EstimateMotion(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !IsSceneCut(m) {
		t.Fatalf("unrelated pictures not taken for a cut (mean cost %.1f)", m.Fwd.MeanCost())
	}
	for _, c := range []struct {
		t    float64
		want *Frame
	}{{0.3, a}, {0.7, b}} {
		out := NewFrame(f)
		if err := CPU().Interpolate(out, a, b, m, c.t, MethodMC); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if ps := planePSNR(out, c.want, i); ps < 1000 {
				t.Errorf("t=%v: plane %d is not the nearer picture (%.1f dB)", c.t, i, ps)
			}
		}
	}
	clip := twoMotions(t, 3, Format{720, 576, Chroma420, 8})
	m, err = CPU().EstimateMotion(clip[0], clip[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	if IsSceneCut(m) {
		t.Errorf("panning shot taken for a cut (mean cost %.1f)", m.Fwd.MeanCost())
	}
}

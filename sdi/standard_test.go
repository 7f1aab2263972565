package sdi

import "testing"

func TestSARFollowsThe704SampleConvention(t *testing.T) {
	cases := []struct {
		std, aspect string
		want        Rational
	}{
		{"pal", "4:3", Rational{12, 11}},
		{"pal", "16:9", Rational{16, 11}},
		{"secam", "16:9", Rational{16, 11}},
		{"ntsc", "4:3", Rational{10, 11}},
		{"ntsc", "16:9", Rational{40, 33}},
	}
	for _, c := range cases {
		s, err := Lookup(c.std)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.SAR(c.aspect)
		if err != nil || got != c.want {
			t.Errorf("%s %s: SAR %v %v, want %v", c.std, c.aspect, got, err, c.want)
		}
		// The active 704 samples display at exactly the aspect asked for.
		dar, _ := ParseAspect(c.aspect)
		if d := float64(s.Active) * got.Float() / float64(s.Height); d != dar.Float() && (d-dar.Float() > 1e-9 || dar.Float()-d > 1e-9) {
			t.Errorf("%s %s: 704 samples display at %.6f, want %.6f", c.std, c.aspect, d, dar.Float())
		}
	}
}

func TestStandards(t *testing.T) {
	pal, _ := Lookup("PAL")
	ntsc, _ := Lookup("ntsc")
	if pal.Width != 720 || pal.Height != 576 || pal.FrameRate != (Rational{25, 1}) || pal.Fields != TopFirst || pal.ColorSpace != "bt470bg" {
		t.Errorf("pal: %+v", pal)
	}
	if ntsc.Height != 480 || ntsc.FrameRate != (Rational{30000, 1001}) || ntsc.ColorPrimaries != "smpte170m" {
		t.Errorf("ntsc: %+v", ntsc)
	}
	if _, err := Lookup("pal-m"); err == nil {
		t.Error("unknown standard accepted")
	}
	if _, err := ParseAspect("21:9"); err == nil {
		t.Error("unknown aspect accepted")
	}
}

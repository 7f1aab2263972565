package pipeline

import (
	"testing"

	"kiln/packaging"
	"kiln/pipeline/plan"
	"kiln/sdi"
)

func testVerifier() *abrVerifier {
	r := plan.ABRRung{Rung: packaging.Rung{Name: "720p-2400k", Rate: sdi.Rational{Num: 25, Den: 1}}}
	return &abrVerifier{plan: plan.Plan{ABR: &plan.ABRPlan{GOP: packaging.GOP{Segment: 4, SegmentFrames: 100, Frames: 50}, Rungs: []plan.ABRRung{r}}}}
}

func TestABRVerifierChecks(t *testing.T) {
	cases := []struct {
		name string
		run  func(v *abrVerifier)
		pass bool
	}{
		{"durations on target", func(v *abrVerifier) { v.checkDurations("d", []float64{4, 4, 4.04, 1.2}, v.plan.ABR.Rungs[0]) }, true},
		{"a segment one frame too long is fine, two are not", func(v *abrVerifier) { v.checkDurations("d", []float64{4, 4.08, 4}, v.plan.ABR.Rungs[0]) }, false},
		{"a last segment longer than the target", func(v *abrVerifier) { v.checkDurations("d", []float64{4, 4.5}, v.plan.ABR.Rungs[0]) }, false},
		{"segments on IDRs", func(v *abrVerifier) {
			v.checkSegmentsStartOnKeyframes("k", []float64{4, 4, 2}, []float64{0.7, 2.7, 4.7, 6.7, 8.7})
		}, true},
		{"a segment off its IDR", func(v *abrVerifier) {
			v.checkSegmentsStartOnKeyframes("k", []float64{3.96, 4.04, 2}, []float64{0.7, 2.7, 4.7, 6.7, 8.7})
		}, false},
		{"aligned rungs", func(v *abrVerifier) {
			v.checkTimeline("a", rungTimeline{first: 0.105, keys: []float64{0.105, 2.107, 4.109}}, rungTimeline{first: 0.105, keys: []float64{0.105, 2.107, 4.1092}})
		}, true},
		{"a rung with an extra IDR", func(v *abrVerifier) {
			v.checkTimeline("a", rungTimeline{first: 0, keys: []float64{0, 2, 4}}, rungTimeline{first: 0, keys: []float64{0, 2, 3, 4}})
		}, false},
		// What GStreamer read from a package whose rungs' B-frames reordered
		// differently: the third IDR one picture early on one rung.
		{"an IDR one picture off", func(v *abrVerifier) {
			v.checkTimeline("a", rungTimeline{first: 0.105, keys: []float64{0.105, 2.107, 4.109}}, rungTimeline{first: 0.105, keys: []float64{0.105, 2.107, 4.067}})
		}, false},
		// The first picture at 63 ms on one rung, 105 ms on the others.
		{"a rung that starts a picture early", func(v *abrVerifier) {
			v.checkTimeline("a", rungTimeline{first: 0.105, keys: []float64{0.105, 2.107}}, rungTimeline{first: 0.063, keys: []float64{0.105, 2.107}})
		}, false},
		// The same pictures, decoded a picture apart: a demuxer that starts
		// a stream at its first decode time (GStreamer's tsdemux) shows
		// the rungs a picture apart.
		{"a rung decoded a picture earlier", func(v *abrVerifier) {
			v.checkTimeline("a", rungTimeline{first: 1.4, keys: []float64{1.4, 3.4}, decode: 1.32}, rungTimeline{first: 1.4, keys: []float64{1.4, 3.4}, decode: 1.36})
		}, false},
		{"CODECS matches the stream", func(v *abrVerifier) {
			v.checkCodecs("c", "avc1.64001f,mp4a.40.2", []streamCodec{{"h264", 100, 31}, {"aac", 1, 0}})
		}, true},
		{"CODECS with the wrong level", func(v *abrVerifier) {
			v.checkCodecs("c", "avc1.64001e,mp4a.40.2", []streamCodec{{"h264", 100, 31}, {"aac", 1, 0}})
		}, false},
		{"CODECS without the audio", func(v *abrVerifier) {
			v.checkCodecs("c", "avc1.64001f", []streamCodec{{"h264", 100, 31}, {"aac", 1, 0}})
		}, false},
	}
	for _, c := range cases {
		v := testVerifier()
		c.run(v)
		if len(v.checks) != 1 || v.checks[0].Pass != c.pass {
			t.Errorf("%s: %+v, want pass = %v", c.name, v.checks, c.pass)
		}
	}
}

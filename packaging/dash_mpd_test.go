package packaging

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"

	"kiln/sdi"
)

func TestDASHManifest(t *testing.T) {
	video := []Segment{{Start: 1920, Duration: 180000}, {Start: 181920, Duration: 180000}, {Start: 361920, Duration: 90000}}
	audio := []Segment{{Start: 0, Duration: 97280}, {Start: 97280, Duration: 95232}}
	m := DASHManifest{Duration: 5, MinBufferTime: 4, Sets: []DASHAdaptationSet{
		{ContentType: "video", Reps: []DASHRepresentation{{ID: "720p-2400k", Bandwidth: 2_600_000, Codecs: "avc1.64001f", Width: 1280, Height: 720,
			FrameRate: sdi.Rational{Num: 30000, Den: 1001}, SAR: sdi.Rational{Num: 1, Den: 1}, Dir: "cmaf/720p-2400k", Timescale: 90000, Segments: video}}},
		{ContentType: "audio", Language: "en", Reps: []DASHRepresentation{{ID: "audio", Bandwidth: 130_000, Codecs: "mp4a.40.2", SampleRate: 48000, Channels: 2,
			Dir: "cmaf/audio", Timescale: 48000, Segments: audio}}},
	}}
	b, err := m.Render()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		`type="static"`, `mediaPresentationDuration="PT5.000S"`, `maxSegmentDuration="PT2.027S"`,
		`frameRate="30000/1001"`, `par="16:9"`, `lang="en"`,
		`initialization="cmaf/720p-2400k/init.mp4" media="cmaf/720p-2400k/seg-$Number%05d$.m4s" startNumber="1"`,
		`<S t="1920" d="180000" r="1"></S>`, `<S d="90000"></S>`,
		`<S t="0" d="97280"></S>`, `<S d="95232"></S>`,
		`value="2"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("MPD lacks %s:\n%s", want, out)
		}
	}
	var doc struct {
		Period struct {
			Sets []struct {
				Reps []struct {
					ID string `xml:"id,attr"`
				} `xml:"Representation"`
			} `xml:"AdaptationSet"`
		} `xml:"Period"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Period.Sets) != 2 || doc.Period.Sets[0].Reps[0].ID != "720p-2400k" {
		t.Errorf("MPD does not read back: %v %+v", err, doc)
	}
}

func TestISODuration(t *testing.T) {
	for s, want := range map[float64]string{0: "PT0.000S", 4.004: "PT4.004S", 61.5: "PT1M1.500S", 3723.25: "PT1H2M3.250S"} {
		if got := isoDuration(s); got != want {
			t.Errorf("%g s: %s, want %s", s, got, want)
		}
	}
}

// What the MPD cannot represent is an error naming it.
func TestDASHManifestRejects(t *testing.T) {
	good := func() DASHManifest {
		return DASHManifest{Duration: 4, MinBufferTime: 4, Sets: []DASHAdaptationSet{{ContentType: "video", Reps: []DASHRepresentation{{
			ID: "360p", Bandwidth: 1000, Codecs: "avc1.64001f", Width: 640, Height: 360, FrameRate: sdi.Rational{Num: 25, Den: 1},
			Dir: "cmaf/360p", Timescale: 90000, Segments: []Segment{{Start: 0, Duration: 180000}, {Start: 180000, Duration: 180000}}}}}}}
	}
	if _, err := good().Render(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		spoil func(m *DASHManifest)
		want  string
	}{
		"$ in the folder":     {func(m *DASHManifest) { m.Sets[0].Reps[0].Dir = "cmaf/$Number$" }, "folder"},
		"folder climbs out":   {func(m *DASHManifest) { m.Sets[0].Reps[0].Dir = "cmaf/../../etc" }, "folder"},
		"absolute folder":     {func(m *DASHManifest) { m.Sets[0].Reps[0].Dir = "/srv/cmaf" }, "folder"},
		"blank in the id":     {func(m *DASHManifest) { m.Sets[0].Reps[0].ID = "360 p" }, "without blanks"},
		"same id twice":       {func(m *DASHManifest) { m.Sets[0].Reps = append(m.Sets[0].Reps, m.Sets[0].Reps[0]) }, "two representations"},
		"quote in codecs":     {func(m *DASHManifest) { m.Sets[0].Reps[0].Codecs = `avc1"` }, "codec tags"},
		"overlapping":         {func(m *DASHManifest) { m.Sets[0].Reps[0].Segments[1].Start = 90000 }, "before segment 1 ends"},
		"negative start":      {func(m *DASHManifest) { m.Sets[0].Reps[0].Segments[0].Start = -1 }, "start -1"},
		"NaN duration":        {func(m *DASHManifest) { m.Duration = math.NaN() }, "out of range"},
		"zero timescale":      {func(m *DASHManifest) { m.Sets[0].Reps[0].Timescale = 0 }, "timescale 0"},
		"text adaptation set": {func(m *DASHManifest) { m.Sets[0].ContentType = "text" }, "content type"},
		"no frame rate":       {func(m *DASHManifest) { m.Sets[0].Reps[0].FrameRate = sdi.Rational{} }, "frames per second"},
	} {
		m := good()
		c.spoil(&m)
		if _, err := m.Render(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}

package packaging

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cmafAsSmooth writes a CMAF video track of gops GOPs of 25 pictures and
// joins init and segments into one fragmented file, the shape of an .ismv.
func cmafAsSmooth(t *testing.T, dir, name string, gops int, shift int64) {
	t.Helper()
	avc, _ := ParseAVCConfig(mustHex(t, x264Extradata))
	tmp := t.TempDir()
	tr, err := NewCMAFTrack(tmp, TrackConfig{Kind: "video", Timescale: SmoothTimescale, Lead: shift, Width: 640, Height: 360, AVC: &avc})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < gops*25; i++ {
		if err := tr.WriteSample(Sample{PTS: int64(i) * 400000, DTS: int64(i) * 400000, Duration: 400000, Key: i%25 == 0, Data: []byte{0, 0, 1, 0x65}}, i%25 == 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Finish(); err != nil {
		t.Fatal(err)
	}
	joined, _ := os.ReadFile(filepath.Join(tmp, CMAFInit))
	for _, s := range tr.Segments() {
		b, _ := os.ReadFile(filepath.Join(tmp, s.URI))
		joined = append(joined, b...)
	}
	if err := os.WriteFile(filepath.Join(dir, name), joined, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSmoothManifests(t *testing.T) {
	dir := t.TempDir()
	cmafAsSmooth(t, dir, "hi.ismv", 3, 0)
	cmafAsSmooth(t, dir, "lo.ismv", 3, 0)
	avc, _ := ParseAVCConfig(mustHex(t, x264Extradata))
	aac, _ := ParseAAC(mustHex(t, "1190"), 128000)
	video := SmoothStream{Type: "video", Name: "video", Qualities: []SmoothQuality{
		{File: "hi.ismv", Bitrate: 800000, Width: 640, Height: 360, AVC: &avc},
		{File: "lo.ismv", Bitrate: 400000, Width: 640, Height: 360, AVC: &avc}}}
	if err := video.ReadChunks(dir); err != nil {
		t.Fatal(err)
	}
	if len(video.Chunks) != 3 || video.Chunks[1].Time != 10_000_000 || video.Chunks[1].Duration != 10_000_000 {
		t.Fatalf("chunks %+v", video.Chunks)
	}
	audio := SmoothStream{Type: "audio", Name: "audio", Language: "eng", Qualities: []SmoothQuality{{File: "a.isma", Bitrate: 128000, Audio: &aac}},
		Chunks: []Fragment{{Time: 0, Duration: 20_053_333}, {Time: 20_053_333, Duration: 9_946_667}}}
	m := SmoothManifest{Streams: []SmoothStream{video, audio}}
	client, err := m.ClientManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Duration="30000000"`, `TimeScale="10000000"`,
		`Url="QualityLevels({bitrate})/Fragments(video={start time})"`, `FourCC="H264"`, `CodecPrivateData="` + x264Extradata + `"`,
		`<c t="0" d="10000000"></c>`, `FourCC="AACL"`, `CodecPrivateData="1190"`, `Language="eng"`, `<c d="9946667"></c>`} {
		if !strings.Contains(string(client), want) {
			t.Errorf("client manifest lacks %s:\n%s", want, client)
		}
	}
	server, err := m.ServerManifest("S.ismc")
	if err != nil {
		t.Fatal(err)
	}
	var smil struct {
		Head struct {
			Meta struct {
				Content string `xml:"content,attr"`
			} `xml:"meta"`
		} `xml:"head"`
		Body struct {
			Switch struct {
				Video []struct {
					Src string `xml:"src,attr"`
				} `xml:"video"`
				Audio []struct {
					Src string `xml:"src,attr"`
				} `xml:"audio"`
			} `xml:"switch"`
		} `xml:"body"`
	}
	if err := xml.Unmarshal(server, &smil); err != nil || smil.Head.Meta.Content != "S.ismc" || len(smil.Body.Switch.Video) != 2 || smil.Body.Switch.Audio[0].Src != "a.isma" {
		t.Errorf("server manifest: %v\n%s", err, server)
	}

	// Qualities that do not share fragment times cannot switch.
	cmafAsSmooth(t, dir, "off.ismv", 3, 4_000_000)
	bad := SmoothStream{Type: "video", Name: "video", Qualities: []SmoothQuality{{File: "hi.ismv"}, {File: "off.ismv"}}}
	if err := bad.ReadChunks(dir); err == nil {
		t.Error("misaligned qualities were accepted")
	}
}

// smoothTestManifest is two video qualities and one audio quality over
// .ismv-shaped files in dir, with their chunks read.
func smoothTestManifest(t *testing.T, dir string) SmoothManifest {
	t.Helper()
	cmafAsSmooth(t, dir, "hi.ismv", 3, 0)
	cmafAsSmooth(t, dir, "lo.ismv", 3, 0)
	avc, _ := ParseAVCConfig(mustHex(t, x264Extradata))
	video := SmoothStream{Type: "video", Name: "video", Qualities: []SmoothQuality{
		{File: "hi.ismv", Bitrate: 800000, Width: 640, Height: 360, AVC: &avc},
		{File: "lo.ismv", Bitrate: 400000, Width: 640, Height: 360, AVC: &avc}}}
	if err := video.ReadChunks(dir); err != nil {
		t.Fatal(err)
	}
	return SmoothManifest{Streams: []SmoothStream{video}}
}

// The static layout answers every URL the client manifest makes a client
// fetch with the very bytes of that fragment in the .ismv.
func TestSmoothStaticLayout(t *testing.T) {
	dir := t.TempDir()
	m := smoothTestManifest(t, dir)
	client, err := m.ClientManifest()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SmoothStaticManifest), client, 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := m.WriteStaticFragments(dir)
	if err != nil || n != 6 {
		t.Fatalf("wrote %d fragment files (%v), want 6", n, err)
	}
	if got := m.Streams[0].FragmentPath(400000, 10_000_000); got != "QualityLevels(400000)/Fragments(video=10000000)" {
		t.Errorf("fragment path %q", got)
	}
	ismv, _ := os.ReadFile(filepath.Join(dir, "lo.ismv"))
	frags, _ := ReadFragments(filepath.Join(dir, "lo.ismv"))
	second, err := os.ReadFile(filepath.Join(dir, "QualityLevels(400000)", "Fragments(video=10000000)"))
	if err != nil || len(frags) != 3 || string(second) != string(ismv[frags[1].Offset:frags[1].Offset+frags[1].Size]) {
		t.Fatalf("the second fragment file is not the .ismv's second moof and mdat (%v)", err)
	}
	if got, err := CheckStaticSmooth(dir); err != nil || got != 6 {
		t.Errorf("CheckStaticSmooth: %d fragments, %v; want 6", got, err)
	}

	// A fragment missing, or one holding the wrong fragment, fails the check.
	first := filepath.Join(dir, "QualityLevels(800000)", "Fragments(video=0)")
	third := filepath.Join(dir, "QualityLevels(800000)", "Fragments(video=20000000)")
	saved, _ := os.ReadFile(first)
	other, _ := os.ReadFile(third)
	os.WriteFile(first, other, 0o644)
	if _, err := CheckStaticSmooth(dir); err == nil || !strings.Contains(err.Error(), "holds the fragment at 20000000") {
		t.Errorf("a fragment file with the wrong fragment: %v", err)
	}
	os.WriteFile(first, append(saved, saved...), 0o644)
	if _, err := CheckStaticSmooth(dir); err == nil || !strings.Contains(err.Error(), "want moof and mdat") {
		t.Errorf("a fragment file with two fragments: %v", err)
	}
	os.Remove(first)
	if _, err := CheckStaticSmooth(dir); err == nil {
		t.Error("a missing fragment file passed")
	}
	// The split never overwrites: a second run into the same folder fails.
	if _, err := m.WriteStaticFragments(dir); err == nil {
		t.Error("splitting over an existing layout succeeded")
	}
}

// What the manifests cannot represent is an error, not a manifest a
// client misreads.
func TestSmoothManifestRejects(t *testing.T) {
	dir := t.TempDir()
	good := smoothTestManifest(t, dir)
	for name, spoil := range map[string]func(m *SmoothManifest){
		"same bitrate twice":     func(m *SmoothManifest) { m.Streams[0].Qualities[1].Bitrate = 800000 },
		"zero bitrate":           func(m *SmoothManifest) { m.Streams[0].Qualities[0].Bitrate = 0 },
		"name breaks the Url":    func(m *SmoothManifest) { m.Streams[0].Name = "vid)eo" },
		"name with a space":      func(m *SmoothManifest) { m.Streams[0].Name = "my video" },
		"file in a folder":       func(m *SmoothManifest) { m.Streams[0].Qualities[0].File = "../hi.ismv" },
		"file with a newline":    func(m *SmoothManifest) { m.Streams[0].Qualities[0].File = "hi\n.ismv" },
		"language not a tag":     func(m *SmoothManifest) { m.Streams[0].Language = `en"g` },
		"no SPS":                 func(m *SmoothManifest) { m.Streams[0].Qualities[0].AVC = &AVCConfig{} },
		"no raster":              func(m *SmoothManifest) { m.Streams[0].Qualities[0].Width = 0 },
		"overlapping fragments":  func(m *SmoothManifest) { m.Streams[0].Chunks[1].Time = 5 },
		"zero-length fragment":   func(m *SmoothManifest) { m.Streams[0].Chunks[2].Duration = 0 },
		"no fragments":           func(m *SmoothManifest) { m.Streams[0].Chunks = nil },
		"two streams, same name": func(m *SmoothManifest) { m.Streams = append(m.Streams, m.Streams[0]) },
		"audio type, video data": func(m *SmoothManifest) { m.Streams[0].Type = "audio" },
		"text stream":            func(m *SmoothManifest) { m.Streams[0].Type = "text" },
	} {
		m := good
		m.Streams = append([]SmoothStream{}, good.Streams...)
		m.Streams[0].Qualities = append([]SmoothQuality{}, good.Streams[0].Qualities...)
		m.Streams[0].Chunks = append([]Fragment{}, good.Streams[0].Chunks...)
		spoil(&m)
		if _, err := m.ClientManifest(); err == nil {
			t.Errorf("%s: the client manifest was written", name)
		}
		if _, err := m.ServerManifest("S.ismc"); err == nil {
			t.Errorf("%s: the server manifest was written", name)
		}
	}
	if _, err := good.ServerManifest("a/S.ismc"); err == nil {
		t.Error("a client manifest in another folder was accepted")
	}
	if _, err := good.ServerManifest("Clip (final) ü.ismc"); err != nil {
		t.Errorf("a source name with spaces and accents: %v", err)
	}
}

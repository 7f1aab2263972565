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

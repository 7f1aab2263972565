package packaging

import (
	"math"
	"strings"
	"testing"
)

func TestMediaPlaylistWithKeyRotation(t *testing.T) {
	k1 := &Key{Number: 1, URI: "https://keys.example.com/7/1.key", IV: [16]byte{0: 0xab, 15: 0x01}}
	k2 := &Key{Number: 2, URI: "https://keys.example.com/7/2.key", IV: [16]byte{15: 0x02}}
	p := MediaPlaylist{Version: 3, Entries: []PlaylistEntry{
		{URI: "seg-00001.ts", Duration: 4, Key: k1},
		{URI: "seg-00002.ts", Duration: 4.004, Key: k1},
		{URI: "seg-00003.ts", Duration: 1.5, Key: k2},
	}}
	want := `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/7/1.key",IV=0xAB000000000000000000000000000001
#EXTINF:4.000,
seg-00001.ts
#EXTINF:4.004,
seg-00002.ts
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/7/2.key",IV=0x00000000000000000000000000000002
#EXTINF:1.500,
seg-00003.ts
#EXT-X-ENDLIST
`
	if got, err := p.Render(); err != nil || string(got) != want {
		t.Errorf("playlist (%v):\n%s\nwant:\n%s", err, got, want)
	}
}

func TestIFramePlaylist(t *testing.T) {
	p := MediaPlaylist{Version: 5, IFramesOnly: true, MapURI: "init.mp4", Entries: []PlaylistEntry{
		{URI: "seg-00001.m4s", Duration: 2, ByteRange: &ByteRange{Length: 4290, Offset: 28}},
		{URI: "seg-00001.m4s", Duration: 2, ByteRange: &ByteRange{Length: 5000, Offset: 9000}},
	}}
	want := `#EXTM3U
#EXT-X-VERSION:5
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-I-FRAMES-ONLY
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000,
#EXT-X-BYTERANGE:4290@28
seg-00001.m4s
#EXTINF:2.000,
#EXT-X-BYTERANGE:5000@9000
seg-00001.m4s
#EXT-X-ENDLIST
`
	if got, err := p.Render(); err != nil || string(got) != want {
		t.Errorf("playlist (%v):\n%s\nwant:\n%s", err, got, want)
	}
}

func TestMasterPlaylist(t *testing.T) {
	m := MasterPlaylist{Version: 4,
		Audio: []AudioMedia{{GroupID: "audio", Name: "English", Language: "en", Default: true, Channels: 2, URI: "hls/audio/index.m3u8"}},
		Variants: []Variant{{Bandwidth: 2_700_000, AverageBandwidth: 2_500_000, Codecs: "avc1.64001f,mp4a.40.2", Width: 1280, Height: 720,
			FrameRate: 25, AudioGroup: "audio", URI: "hls/720p-2400k/index.m3u8"}},
		IFrames: []IFrameVariant{{Bandwidth: 300_000, Codecs: "avc1.64001f", Width: 1280, Height: 720, URI: "hls/720p-2400k/iframes.m3u8"}},
	}
	want := `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="hls/audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2700000,AVERAGE-BANDWIDTH=2500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=25.000,AUDIO="audio",CLOSED-CAPTIONS=NONE
hls/720p-2400k/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=300000,CODECS="avc1.64001f",RESOLUTION=1280x720,URI="hls/720p-2400k/iframes.m3u8"
`
	if got, err := m.Render(); err != nil || string(got) != want {
		t.Errorf("master (%v):\n%s\nwant:\n%s", err, got, want)
	}
}

func TestPeakBitrate(t *testing.T) {
	cases := []struct {
		name   string
		sizes  []int64
		durs   []float64
		target float64
		peak   int64
		avg    int64
	}{
		// Three 4 s segments; the peak is the largest single one.
		{"steady", []int64{500_000, 1_000_000, 500_000}, []float64{4, 4, 4}, 4, 2_000_000, 1_333_334},
		// A short last segment is measured with the one before it, as RFC
		// 8216's runs of 0.5–1.5 target durations count it: 8 Mbit over
		// 5 s, not 4 Mbit in its own second.
		{"short tail", []int64{500_000, 500_000, 500_000}, []float64{4, 4, 1}, 4, 1_600_000, 1_333_334},
		// A rendition shorter than half the target is measured whole.
		{"tiny", []int64{100_000}, []float64{1}, 4, 800_000, 800_000},
	}
	for _, c := range cases {
		if got := PeakBitrate(c.sizes, c.durs, c.target); got != c.peak {
			t.Errorf("%s: peak %d, want %d", c.name, got, c.peak)
		}
		if got := AverageBitrate(c.sizes, c.durs); got != c.avg {
			t.Errorf("%s: average %d, want %d", c.name, got, c.avg)
		}
	}
}

// What a playlist cannot carry is an error naming it, not a playlist a
// player misreads.
func TestPlaylistsReject(t *testing.T) {
	seg := func(uri string, d float64) MediaPlaylist {
		return MediaPlaylist{Version: 6, Entries: []PlaylistEntry{{URI: uri, Duration: d}}}
	}
	for name, c := range map[string]struct {
		pl   MediaPlaylist
		want string
	}{
		"newline in a URI":      {seg("seg-1.ts\n#EXT-X-ENDLIST", 2), "control characters"},
		"URI read as a tag":     {seg("#seg-1.ts", 2), "reads as a tag"},
		"padded URI":            {seg(" seg-1.ts", 2), "blanks"},
		"zero duration":         {seg("seg-1.ts", 0), "at least 1 ms"},
		"NaN duration":          {seg("seg-1.ts", math.NaN()), "at least 1 ms"},
		"quote in the map URI":  {MediaPlaylist{Version: 6, MapURI: `in"it.mp4`, Entries: seg("s", 2).Entries}, "double quotes"},
		"map at version 3":      {MediaPlaylist{Version: 3, MapURI: "init.mp4", Entries: seg("s", 2).Entries}, "need version 6"},
		"no segments":           {MediaPlaylist{Version: 6}, "no segments"},
		"quote in a key URI":    {MediaPlaylist{Version: 3, Entries: []PlaylistEntry{{URI: "s", Duration: 2, Key: &Key{URI: `k"ey`}}}}, "double quotes"},
		"negative range offset": {MediaPlaylist{Version: 4, Entries: []PlaylistEntry{{URI: "s", Duration: 2, ByteRange: &ByteRange{Length: 10, Offset: -1}}}}, "byte range"},
	} {
		if _, err := c.pl.Render(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
	good := MasterPlaylist{Version: 4,
		Audio:    []AudioMedia{{GroupID: "audio", Name: "English", Language: "en", Default: true, Channels: 2, URI: "a/index.m3u8"}},
		Variants: []Variant{{Bandwidth: 1000, Codecs: "avc1.64001f,mp4a.40.2", Width: 640, Height: 360, FrameRate: 25, AudioGroup: "audio", URI: "v/index.m3u8"}},
	}
	for name, c := range map[string]struct {
		spoil func(m *MasterPlaylist)
		want  string
	}{
		"quote in a name":     {func(m *MasterPlaylist) { m.Audio[0].Name = `Eng"lish` }, "double quotes"},
		"quote in CODECS":     {func(m *MasterPlaylist) { m.Variants[0].Codecs = `avc1",x` }, "codec tags"},
		"language not a tag":  {func(m *MasterPlaylist) { m.Audio[0].Language = "en glish" }, "RFC 5646"},
		"unknown audio group": {func(m *MasterPlaylist) { m.Variants[0].AudioGroup = "sound" }, "does not have"},
		"two defaults": {func(m *MasterPlaylist) {
			m.Audio = append(m.Audio, AudioMedia{GroupID: "audio", Name: "B", Default: true, URI: "b.m3u8"})
		}, "more than one DEFAULT"},
		"zero bandwidth":         {func(m *MasterPlaylist) { m.Variants[0].Bandwidth = 0 }, "BANDWIDTH 0"},
		"frame rate rounds to 0": {func(m *MasterPlaylist) { m.Variants[0].FrameRate = 0.0001 }, "FRAME-RATE"},
		"no variants":            {func(m *MasterPlaylist) { m.Variants = nil }, "no variants"},
	} {
		m := good
		m.Audio = append([]AudioMedia{}, good.Audio...)
		m.Variants = append([]Variant{}, good.Variants...)
		c.spoil(&m)
		if _, err := m.Render(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
	// A backslash and a non-breaking space are written as they are: HLS
	// quoted strings have no escapes.
	m := good
	m.Audio = []AudioMedia{{GroupID: "audio", Name: "Dolby\\Atmos\u00a0x", Default: true, URI: "a/index.m3u8"}}
	if out, err := m.Render(); err != nil || !strings.Contains(string(out), "NAME=\"Dolby\\Atmos\u00a0x\"") {
		t.Errorf("NAME not written verbatim (%v):\n%s", err, out)
	}
	// The target duration covers EXTINF as written: 2.4996 s is 2.500.
	if out, err := seg("s", 2.4996).Render(); err != nil || !strings.Contains(string(out), "#EXT-X-TARGETDURATION:3\n") {
		t.Errorf("target duration for 2.4996 s (%v):\n%s", err, out)
	}
}

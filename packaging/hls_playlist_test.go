package packaging

import (
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
	if got := string(p.Render()); got != want {
		t.Errorf("playlist:\n%s\nwant:\n%s", got, want)
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
	if got := string(p.Render()); got != want {
		t.Errorf("playlist:\n%s\nwant:\n%s", got, want)
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
	if got := string(m.Render()); got != want {
		t.Errorf("master:\n%s\nwant:\n%s", got, want)
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

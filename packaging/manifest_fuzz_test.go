package packaging

import (
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"kiln/sdi"
)

// The manifest writers take names, URIs, codec strings and timings that
// come from configuration, source metadata and the encoders. Whatever they
// are given, a writer either returns an error or writes a manifest that
// reads back to the values it was given: never a panic, an injected line,
// a broken attribute or a timeline that says something else.

// cleanToken is what the fuzz targets treat as surely representable in any
// of the manifests: written independently of the writers' own checks, so
// that a writer that rejects good input fails too.
var cleanToken = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,30}$`)

// durationsFrom turns fuzz bytes into up to 20 durations in milliseconds
// (two bytes each), so that a target gets a varying number of segments.
func durationsFrom(b []byte) []int64 {
	var out []int64
	for i := 0; i+1 < len(b) && len(out) < 20; i += 2 {
		out = append(out, int64(b[i])<<8|int64(b[i+1]))
	}
	return out
}

// hlsLines checks what every playlist line must be and returns the lines.
func hlsLines(t *testing.T, out []byte) []string {
	t.Helper()
	s := string(out)
	if !utf8.ValidString(s) {
		t.Fatalf("playlist is not UTF-8:\n%q", s)
	}
	for _, r := range s {
		if r != '\n' && isControl(r) {
			t.Fatalf("playlist holds control character %U:\n%q", r, s)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("playlist does not end with a newline:\n%q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if lines[0] != "#EXTM3U" {
		t.Fatalf("first line %q, want #EXTM3U", lines[0])
	}
	for i, l := range lines {
		if l == "" || strings.TrimSpace(l) != l {
			t.Fatalf("line %d %q is blank or padded", i+1, l)
		}
		if strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "#EXT") {
			t.Fatalf("line %d %q is neither a tag nor a URI", i+1, l)
		}
	}
	return lines
}

// hlsAttributes parses an attribute list (RFC 8216 4.2) strictly: a
// quoted value ends at the next double quote, and each attribute is
// followed by a comma or the end of the line.
func hlsAttributes(t *testing.T, list string) map[string]string {
	t.Helper()
	attrs := map[string]string{}
	name := regexp.MustCompile(`^[A-Z0-9-]+=`)
	for rest := list; rest != ""; {
		m := name.FindString(rest)
		if m == "" {
			t.Fatalf("attribute list %q: no attribute name at %q", list, rest)
		}
		key := strings.TrimSuffix(m, "=")
		rest = rest[len(m):]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				t.Fatalf("attribute list %q: unterminated quoted string", list)
			}
			val, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		if _, dup := attrs[key]; dup {
			t.Fatalf("attribute list %q repeats %s", list, key)
		}
		attrs[key] = val
		if rest != "" {
			if !strings.HasPrefix(rest, ",") {
				t.Fatalf("attribute list %q: %s's value is followed by %q", list, key, rest)
			}
			rest = rest[1:]
		}
	}
	return attrs
}

func FuzzMediaPlaylist(f *testing.F) {
	// TS with a key change, CMAF, I-frames with byte ranges, and the
	// durations that round across a second at the millisecond.
	f.Add(3, "", "seg-00001.ts", "https://keys.example.com/7/1.key", false, []byte{0x0f, 0xa0, 0x0f, 0xa4, 0x05, 0xdc}, 4.0, int64(0), int64(0))
	f.Add(6, "init.mp4", "seg-00001.m4s", "", false, []byte{0x07, 0xd0, 0x07, 0xd0}, 2.0, int64(0), int64(0))
	f.Add(5, "init.mp4", "seg-00001.m4s", "", true, []byte{0x07, 0xd0}, 2.0, int64(4290), int64(28))
	f.Add(3, "", "seg-00001.ts", "", false, []byte{}, 2.4996, int64(0), int64(0))
	f.Add(3, "", "seg\n#EXT-X-ENDLIST", "k\"ey", false, []byte{0, 1}, 0.0004, int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, version int, mapURI, uri, keyURI string, iframes bool, durs []byte, first float64, rangeLen, rangeOff int64) {
		pl := MediaPlaylist{Version: version, MapURI: mapURI, IFramesOnly: iframes}
		seconds := []float64{first}
		for _, ms := range durationsFrom(durs) {
			seconds = append(seconds, float64(ms)/1000)
		}
		var key *Key
		if keyURI != "" {
			key = &Key{Number: 1, URI: keyURI, IV: [16]byte{0: 0xab, 15: byte(len(keyURI))}}
		}
		for i, d := range seconds {
			e := PlaylistEntry{URI: fmt.Sprintf("%s%d", uri, i), Duration: d}
			if rangeLen != 0 {
				e.ByteRange = &ByteRange{Length: rangeLen, Offset: rangeOff}
			}
			if i >= len(seconds)/2 {
				e.Key = key // the key changes halfway, from none to key
			}
			pl.Entries = append(pl.Entries, e)
		}
		out, err := pl.Render()
		clean := version >= 6 && cleanToken.MatchString(uri) && (mapURI == "" || cleanToken.MatchString(mapURI)) &&
			(keyURI == "" || cleanToken.MatchString(keyURI)) && (rangeLen == 0 || (rangeLen > 0 && rangeOff >= 0 && rangeOff < 1<<40 && rangeLen < 1<<40))
		for _, d := range seconds {
			clean = clean && d >= 0.001 && d <= 3600
		}
		if err != nil {
			if clean {
				t.Fatalf("a representable playlist was rejected: %v", err)
			}
			return
		}
		lines := hlsLines(t, out)
		if lines[len(lines)-1] != "#EXT-X-ENDLIST" {
			t.Fatalf("last line %q, want #EXT-X-ENDLIST", lines[len(lines)-1])
		}
		target, gotVersion := -1, -1
		var entry int
		var sum, want float64
		pendingInf := false
		for _, l := range lines[1:] {
			tag, value, _ := strings.Cut(l, ":")
			switch {
			case tag == "#EXT-X-VERSION":
				gotVersion, _ = strconv.Atoi(value)
			case tag == "#EXT-X-TARGETDURATION":
				target, err = strconv.Atoi(value)
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
			case tag == "#EXT-X-MAP":
				if a := hlsAttributes(t, value); a["URI"] != mapURI || len(a) != 1 {
					t.Fatalf("%s reads back as %v, want URI %q", l, a, mapURI)
				}
			case tag == "#EXT-X-KEY":
				a := hlsAttributes(t, value)
				if a["METHOD"] == "AES-128" && (key == nil || a["URI"] != key.URI || a["IV"] != fmt.Sprintf("0x%X", key.IV[:])) {
					t.Fatalf("%s reads back as %v, want URI %q", l, a, keyURI)
				}
			case tag == "#EXTINF":
				if pendingInf {
					t.Fatalf("two EXTINF without a URI between them:\n%s", out)
				}
				secs, err := strconv.ParseFloat(strings.TrimSuffix(value, ","), 64)
				if err != nil || !strings.HasSuffix(value, ",") {
					t.Fatalf("%s: %v", l, err)
				}
				if target < 0 || int(math.Round(secs)) > target {
					t.Fatalf("%s rounds above EXT-X-TARGETDURATION:%d", l, target)
				}
				sum += secs
				pendingInf = true
			case strings.HasPrefix(l, "#"):
			default:
				if !pendingInf || entry >= len(pl.Entries) || l != pl.Entries[entry].URI {
					t.Fatalf("URI line %q where entry %d is %+v", l, entry, pl.Entries[min(entry, len(pl.Entries)-1)])
				}
				want += pl.Entries[entry].Duration
				entry++
				pendingInf = false
			}
		}
		if entry != len(pl.Entries) || pendingInf {
			t.Fatalf("%d URI lines for %d entries:\n%s", entry, len(pl.Entries), out)
		}
		if math.Abs(sum-want) > 0.0005*float64(entry)+1e-6 {
			t.Fatalf("EXTINF durations add up to %.6f s, the entries to %.6f s", sum, want)
		}
		need := 3
		if rangeLen != 0 || iframes {
			need = 4
		}
		if mapURI != "" {
			need = map[bool]int{true: 5, false: 6}[iframes]
		}
		if gotVersion < need {
			t.Fatalf("EXT-X-VERSION:%d for tags that need %d:\n%s", gotVersion, need, out)
		}
	})
}

func FuzzMasterPlaylist(f *testing.F) {
	f.Add(4, "audio", "English", "en", "hls/audio/index.m3u8", 2, int64(2_700_000), int64(2_500_000), "avc1.64001f,mp4a.40.2", 1280, 720, 25.0, "hls/720p-2400k/index.m3u8", "hls/720p-2400k/iframes.m3u8", false)
	f.Add(6, "audio", "Français", "fr", "cmaf/audio/index.m3u8", 6, int64(900_000), int64(800_000), "avc1.4d401e,ac-3", 640, 360, 29.97, "cmaf/360p-600k/index.m3u8", "", true)
	f.Add(4, "a\"b", "Eng\nlish", "e n", "x\r", -1, int64(0), int64(-1), "avc1\",x", 0, 0, math.NaN(), "#EXT-X-ENDLIST", "i\"", true)
	f.Fuzz(func(t *testing.T, version int, group, name, lang, audioURI string, channels int, bandwidth, average int64, codecs string,
		width, height int, fps float64, variantURI, iframeURI string, twoAudio bool) {
		m := MasterPlaylist{Version: version}
		if group != "" {
			m.Audio = append(m.Audio, AudioMedia{GroupID: group, Name: name, Language: lang, Default: true, Channels: channels, URI: audioURI})
			if twoAudio {
				m.Audio = append(m.Audio, AudioMedia{GroupID: group, Name: name + " 2", Language: lang, Channels: channels, URI: audioURI + "2"})
			}
		}
		m.Variants = []Variant{{Bandwidth: bandwidth, AverageBandwidth: average, Codecs: codecs, Width: width, Height: height,
			FrameRate: fps, AudioGroup: group, URI: variantURI}}
		if iframeURI != "" {
			m.IFrames = []IFrameVariant{{Bandwidth: bandwidth/10 + 1, Codecs: codecs, Width: width, Height: height, URI: iframeURI}}
		}
		out, err := m.Render()
		clean := version >= 1 && bandwidth > 0 && average >= 0 && width > 0 && height > 0 && fps >= 1 && fps <= 300 && channels >= 0 &&
			cleanToken.MatchString(variantURI) && (iframeURI == "" || cleanToken.MatchString(iframeURI)) && cleanToken.MatchString(codecs) &&
			(group == "" || (cleanToken.MatchString(group) && cleanToken.MatchString(name) && cleanToken.MatchString(audioURI) &&
				(lang == "" || regexp.MustCompile(`^[a-z]{2,3}$`).MatchString(lang))))
		if err != nil {
			if clean {
				t.Fatalf("a representable master playlist was rejected: %v", err)
			}
			return
		}
		lines := hlsLines(t, out)
		var media, variants, iframes int
		for i := 1; i < len(lines); i++ {
			tag, value, _ := strings.Cut(lines[i], ":")
			switch tag {
			case "#EXT-X-MEDIA":
				a := hlsAttributes(t, value)
				w := m.Audio[media]
				if a["GROUP-ID"] != w.GroupID || a["NAME"] != w.Name || a["URI"] != w.URI || a["LANGUAGE"] != w.Language || a["TYPE"] != "AUDIO" {
					t.Fatalf("%s reads back as %v, want %+v", lines[i], a, w)
				}
				media++
			case "#EXT-X-STREAM-INF":
				a := hlsAttributes(t, value)
				w := m.Variants[variants]
				if a["BANDWIDTH"] != strconv.FormatInt(w.Bandwidth, 10) || a["CODECS"] != w.Codecs ||
					a["RESOLUTION"] != fmt.Sprintf("%dx%d", w.Width, w.Height) || a["AUDIO"] != w.AudioGroup {
					t.Fatalf("%s reads back as %v, want %+v", lines[i], a, w)
				}
				if rate, err := strconv.ParseFloat(a["FRAME-RATE"], 64); err != nil || rate <= 0 || math.Abs(rate-w.FrameRate) > 0.0005 {
					t.Fatalf("%s reads back as %v, want %+v", lines[i], a, w)
				}
				if i+1 >= len(lines) || lines[i+1] != w.URI {
					t.Fatalf("EXT-X-STREAM-INF is not followed by its URI %q:\n%s", w.URI, out)
				}
				i++
				variants++
			case "#EXT-X-I-FRAME-STREAM-INF":
				if a := hlsAttributes(t, value); a["URI"] != m.IFrames[iframes].URI || a["CODECS"] != codecs {
					t.Fatalf("%s reads back as %v", lines[i], a)
				}
				iframes++
			case "#EXT-X-VERSION", "#EXT-X-INDEPENDENT-SEGMENTS":
			default:
				t.Fatalf("unexpected line %q:\n%s", lines[i], out)
			}
		}
		if media != len(m.Audio) || variants != len(m.Variants) || iframes != len(m.IFrames) {
			t.Fatalf("%d media, %d variants, %d I-frame variants read back; wrote %d, %d, %d", media, variants, iframes, len(m.Audio), len(m.Variants), len(m.IFrames))
		}
	})
}

func FuzzDASHManifest(f *testing.F) {
	f.Add("720p-2400k", "avc1.64001f", "cmaf/720p-2400k", "en", int64(2_600_000), 1280, 720, 30000, 1001, uint32(90000), int64(1920), []byte{0x07, 0xd0, 0x07, 0xd0, 0x03, 0xe8}, 5.0)
	f.Add("audio", "mp4a.40.2", "cmaf/audio", "", int64(130_000), 640, 360, 25, 1, uint32(48000), int64(0), []byte{0x07, 0xd0}, 2.0)
	f.Add("a b", "avc1\"", "cmaf/$Number$/../x", "e\"n", int64(0), 0, 0, 0, 0, uint32(0), int64(-5), []byte{}, math.Inf(1))
	f.Fuzz(func(t *testing.T, id, codecs, dir, lang string, bandwidth int64, width, height, rateNum, rateDen int, timescale uint32, start int64, durs []byte, duration float64) {
		var segs []Segment
		next := start
		for i, ms := range durationsFrom(durs) {
			d := ms * int64(timescale) / 1000
			if i == 2 {
				next += d / 3 // a gap: the timeline must carry an explicit t
			}
			segs = append(segs, Segment{Number: i + 1, Start: next, Duration: d})
			next += d
		}
		m := DASHManifest{Duration: duration, MinBufferTime: 4, Sets: []DASHAdaptationSet{
			{ContentType: "video", Reps: []DASHRepresentation{{ID: id, Bandwidth: bandwidth, Codecs: codecs, Width: width, Height: height,
				FrameRate: sdi.Rational{Num: rateNum, Den: rateDen}, SAR: sdi.Rational{Num: 1, Den: 1}, Dir: dir, Timescale: timescale, Segments: segs}}},
			{ContentType: "audio", Language: lang, Reps: []DASHRepresentation{{ID: id + "-audio", Bandwidth: bandwidth, Codecs: "mp4a.40.2",
				SampleRate: 48000, Channels: 2, Dir: dir + "-audio", Timescale: timescale, Segments: segs}}},
		}}
		out, err := m.Render()
		clean := cleanToken.MatchString(id) && cleanToken.MatchString(codecs) && cleanToken.MatchString(dir) && !strings.Contains(dir, "..") &&
			(lang == "" || regexp.MustCompile(`^[a-z]{2,3}$`).MatchString(lang)) && bandwidth > 0 && width > 0 && height > 0 &&
			rateNum > 0 && rateDen > 0 && timescale > 0 && start >= 0 && start < 1<<40 && len(segs) > 0 && duration >= 0 && duration < 1e6
		for _, s := range segs {
			clean = clean && s.Duration > 0
		}
		if err != nil {
			if clean {
				t.Fatalf("a representable MPD was rejected: %v", err)
			}
			return
		}
		var doc mpdXML
		if err := xml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("the MPD is not well-formed XML: %v\n%s", err, out)
		}
		if got, want := doc.MediaPresentationDuration, isoDuration(duration); got != want || !regexp.MustCompile(`^PT(\d+H)?(\d+M)?\d+\.\d{3}S$`).MatchString(got) {
			t.Fatalf("mediaPresentationDuration %q, want %q", got, want)
		}
		if len(doc.Period.Sets) != 2 {
			t.Fatalf("%d adaptation sets read back, want 2", len(doc.Period.Sets))
		}
		for i, set := range doc.Period.Sets {
			in := m.Sets[i]
			if set.ContentType != in.ContentType || set.Lang != in.Language || len(set.Reps) != 1 {
				t.Fatalf("adaptation set %d reads back as %+v", i, set)
			}
			rep, r := set.Reps[0], in.Reps[0]
			if rep.ID != r.ID || rep.Codecs != r.Codecs || rep.Bandwidth != r.Bandwidth || rep.Template.Timescale != r.Timescale {
				t.Fatalf("representation reads back as %+v, want %+v", rep, r)
			}
			if rep.Template.Initialization != r.Dir+"/"+CMAFInit || rep.Template.Media != r.Dir+"/"+CMAFSegmentTemplate ||
				strings.Count(rep.Template.Media, "$") != 2 {
				t.Fatalf("SegmentTemplate %+v for folder %q", rep.Template, r.Dir)
			}
			if filepath.IsAbs(rep.Template.Media) || !filepath.IsLocal(rep.Template.Media) {
				t.Fatalf("media %q leads out of the package", rep.Template.Media)
			}
			// The timeline expands back to the very segments given.
			var got []Segment
			var at int64
			for _, s := range rep.Template.Timeline.S {
				if s.T != nil {
					at = *s.T
				} else if len(got) == 0 {
					t.Fatalf("the timeline's first S has no t")
				}
				for k := 0; k <= s.R; k++ {
					got = append(got, Segment{Start: at, Duration: s.D})
					at += s.D
				}
			}
			if len(got) != len(r.Segments) {
				t.Fatalf("the timeline holds %d segments, want %d", len(got), len(r.Segments))
			}
			for k := range got {
				if got[k].Start != r.Segments[k].Start || got[k].Duration != r.Segments[k].Duration {
					t.Fatalf("segment %d reads back as %d+%d, want %d+%d", k+1, got[k].Start, got[k].Duration, r.Segments[k].Start, r.Segments[k].Duration)
				}
			}
		}
	})
}

func FuzzSmoothManifests(f *testing.F) {
	f.Add("video", "audio", "eng", "720p-2400k.ismv", "clip", int64(2_400_000), int64(1_200_000), 1280, 720, []byte{0x07, 0xd0, 0x07, 0xd0, 0x03, 0xe8}, uint64(0))
	f.Add("video", "audio-2", "", "a.ismv", "My Clip (final) é", int64(800_000), int64(400_000), 640, 360, []byte{0x07, 0xd0}, uint64(1920))
	f.Add("vid)eo", "audio", "e\"n", "../x\n.ismv", "a/b", int64(1), int64(1), 0, 0, []byte{}, uint64(math.MaxUint64))
	avc, err := ParseAVCConfig(mustHexF(f, x264Extradata))
	if err != nil {
		f.Fatal(err)
	}
	aac, err := ParseAAC([]byte{0x11, 0x90}, 128_000)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, videoName, audioName, lang, file, client string, bitrate1, bitrate2 int64, width, height int, durs []byte, start uint64) {
		var chunks []Fragment
		next := start
		for i, ms := range durationsFrom(durs) {
			d := uint64(ms) * 10_000
			if i == 2 {
				next += d / 3 // a gap: the chunk must carry an explicit t
			}
			chunks = append(chunks, Fragment{Time: next, Duration: d})
			next += d
		}
		video := SmoothStream{Type: "video", Name: videoName, Qualities: []SmoothQuality{
			{File: file, Bitrate: bitrate1, Width: width, Height: height, AVC: &avc},
			{File: "lo-" + file, Bitrate: bitrate2, Width: width / 2, Height: height / 2, AVC: &avc}}, Chunks: chunks}
		audio := SmoothStream{Type: "audio", Name: audioName, Language: lang, Qualities: []SmoothQuality{{File: audioName + ".isma", Bitrate: 128_000, Audio: &aac}},
			Chunks: chunks}
		m := SmoothManifest{Streams: []SmoothStream{video, audio}}
		ismc, errClient := m.ClientManifest()
		ism, errServer := m.ServerManifest(client)
		clean := cleanToken.MatchString(videoName) && cleanToken.MatchString(audioName) && videoName != audioName &&
			cleanToken.MatchString(file) && cleanToken.MatchString(client) && (lang == "" || regexp.MustCompile(`^[a-z]{2,3}$`).MatchString(lang)) &&
			bitrate1 > 0 && bitrate2 > 0 && bitrate1 != bitrate2 && width > 1 && height > 1 && len(chunks) > 0 && start < 1<<50
		for _, c := range chunks {
			clean = clean && c.Duration > 0
		}
		if clean && (errClient != nil || errServer != nil) {
			t.Fatalf("representable Smooth manifests were rejected: %v; %v", errClient, errServer)
		}
		if errClient == nil {
			var doc ismcXML
			if err := xml.Unmarshal(ismc, &doc); err != nil {
				t.Fatalf("the client manifest is not well-formed XML: %v\n%s", err, ismc)
			}
			if doc.TimeScale != SmoothTimescale || doc.Duration != m.Duration() || len(doc.Streams) != 2 {
				t.Fatalf("client manifest reads back as %+v", doc)
			}
			for i, s := range doc.Streams {
				in := m.Streams[i]
				if s.Type != in.Type || s.Name != in.Name || s.Language != in.Language || s.Chunks != len(in.Chunks) || len(s.Levels) != len(in.Qualities) {
					t.Fatalf("StreamIndex %d reads back as %+v", i, s)
				}
				if s.URL != "QualityLevels({bitrate})/Fragments("+in.Name+"={start time})" {
					t.Fatalf("Url %q", s.URL)
				}
				for k, l := range s.Levels {
					q := in.Qualities[k]
					want := strings.ToUpper(hex.EncodeToString(avc.AnnexB()))
					if in.Type == "audio" {
						want = "1190"
					}
					if l.Bitrate != q.Bitrate || l.CodecPrivateData != want {
						t.Fatalf("QualityLevel %d reads back as %+v", k, l)
					}
					// Each fragment URL stays in the package and is unique.
					p := in.FragmentPath(q.Bitrate, in.Chunks[0].Time)
					if !filepath.IsLocal(filepath.FromSlash(p)) || strings.Count(p, "/") != 1 {
						t.Fatalf("fragment path %q", p)
					}
				}
				var at uint64
				for k, c := range s.C {
					if c.T != nil {
						at = *c.T
					} else if k == 0 {
						t.Fatal("the first chunk has no t")
					}
					if at != in.Chunks[k].Time || c.D != in.Chunks[k].Duration {
						t.Fatalf("chunk %d reads back as %d+%d, want %+v", k+1, at, c.D, in.Chunks[k])
					}
					at += c.D
				}
			}
		}
		if errServer == nil {
			// smilXML names its media elements by XMLName when writing;
			// reading takes any element of the switch.
			var doc struct {
				Head struct {
					Meta []metaXML `xml:"meta"`
				} `xml:"head"`
				Body struct {
					Switch struct {
						Media []smilMediaXML `xml:",any"`
					} `xml:"switch"`
				} `xml:"body"`
			}
			if err := xml.Unmarshal(ism, &doc); err != nil {
				t.Fatalf("the server manifest is not well-formed XML: %v\n%s", err, ism)
			}
			if len(doc.Head.Meta) != 1 || doc.Head.Meta[0].Content != client {
				t.Fatalf("clientManifestRelativePath reads back as %+v, want %q", doc.Head.Meta, client)
			}
			media := doc.Body.Switch.Media
			if len(media) != 3 || media[0].Src != file || media[1].Src != "lo-"+file || media[2].Src != audioName+".isma" ||
				media[0].XMLName.Local != "video" || media[2].XMLName.Local != "audio" || media[2].Params[1].Value != audioName {
				t.Fatalf("server manifest reads back as %+v", media)
			}
		}
	})
}

// mustHexF is mustHex for a fuzz target's setup.
func mustHexF(f *testing.F, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

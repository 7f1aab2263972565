package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

const (
	kindBroadcast = "broadcast"
	kindABR       = "abr"
	kindFile      = "file"
)

// kindOnly lists the keys that mean something for some kinds only. Writing
// one under another kind is an error rather than ignored: a "standard" on a
// file profile means the author expects something Kiln will not do.
var kindOnly = []struct {
	key   string
	kinds []string
}{
	{"standard", []string{kindBroadcast}},
	{"aspect", []string{kindBroadcast}},
	{"field_order", []string{kindBroadcast}},
	{"codec", []string{kindBroadcast, kindFile}},
	{"container", []string{kindBroadcast, kindFile}},
	{"formats", []string{kindABR}},
	{"segment", []string{kindABR}},
	{"package", []string{kindABR}},
	{"encryption", []string{kindABR}},
}

// minVideoBitrate catches bitrates written in the wrong unit: 8000 means
// 8 kbit/s, not 8 Mbit/s.
const minVideoBitrate = 100_000

func (c *checker) profile(p *Profile, path keyPath) {
	t := c.table(fmt.Sprintf("profile %q", p.Name), path)
	if !validName(p.Name) {
		t.errorf("", "profile name %q is not valid; %s (quote it in the header if it has a dot: [profile.\"a.b\"])", p.Name, nameRule)
	}
	kindOK := t.required("kind", &p.Kind, "", kindBroadcast, kindABR, kindFile)
	if kindOK {
		t.kindKeys(p)
	}
	t.common(p)
	switch {
	case !kindOK:
	case p.Kind == kindBroadcast:
		t.broadcast(p)
	case p.Kind == kindABR:
		t.abr(p)
	case p.Kind == kindFile:
		t.file(p)
	}
}

func (t tableCheck) kindKeys(p *Profile) {
	for _, k := range kindOnly {
		if t.has(k.key) && !slices.Contains(k.kinds, p.Kind) {
			t.errorf(k.key, "key %q applies only to kind = %s", k.key, orList(k.kinds))
		}
	}
	if p.Kind == kindBroadcast {
		for _, k := range []string{"width", "height"} {
			if t.has(k) {
				t.errorf(k, "%s is not allowed for kind = \"broadcast\": the standard fixes the raster (use kind = \"file\" for a custom size)", k)
			}
		}
	}
}

// common checks the keys every kind takes.
func (t tableCheck) common(p *Profile) {
	t.enum("priority", &p.Priority, "normal", "high", "normal", "low")
	t.enum("fit", &p.Fit, "letterbox", "letterbox", "pillarbox", "stretch", "crop")
	for _, k := range []struct {
		name string
		v    *int
	}{{"width", &p.Width}, {"height", &p.Height}} {
		switch v := *k.v; {
		case !t.usable(k.name):
		case v < 16 || v > 8192:
			t.errorf(k.name, "%s = %d is out of range; want 16 to 8192", k.name, v)
		case v%2 != 0:
			// 4:2:0 and 4:2:2 chroma halve the width (4:2:0 the height too).
			t.errorf(k.name, "%s = %d is odd; chroma subsampling needs an even size", k.name, v)
		}
	}
	if t.usable("frame_rate") {
		if num, den, err := ParseFrameRate(p.FrameRate); err != nil {
			t.errorf("frame_rate", "%v", err)
		} else {
			p.FrameRate = fmt.Sprintf("%d/%d", num, den)
		}
	}
	t.enum("frame_rate_method", &p.FrameRateMethod, "mc", "mc", "blend", "dup")
	t.enum("deinterlace", &p.Deinterlace, "auto", "auto", "on", "off")
	t.enum("scale_filter", &p.ScaleFilter, "lanczos", "lanczos", "bicubic")
	if t.usable("audio.loudness") && !inRange(*p.Audio.Loudness, -70, -5) {
		t.errorf("audio.loudness", "audio.loudness = %s LUFS is out of range; want -70 to -5", formatFloat(*p.Audio.Loudness))
	}
	if p.Watermark != nil && t.usable("watermark") {
		t.watermark(p.Watermark)
	}
	if p.Thumbnails != nil && t.usable("thumbnails") {
		t.duration("thumbnails.every", &p.Thumbnails.Every, 10*time.Second, time.Second, 0, "")
	}
}

func (t tableCheck) watermark(w *Watermark) {
	t.filePath("watermark.image", &w.Image, "")
	if t.usable("watermark.image") && !strings.EqualFold(filepath.Ext(w.Image), ".png") {
		t.errorf("watermark.image", "watermark.image %q is not a .png; the overlay needs PNG's alpha channel", w.Image)
	}
	t.enum("watermark.position", &w.Position, "bottom-right", "top-left", "top-right", "bottom-left", "bottom-right", "center")
	switch {
	case !t.has("watermark.opacity"):
		w.Opacity = 1
	case t.usable("watermark.opacity") && (!inRange(w.Opacity, 0, 1) || w.Opacity == 0):
		t.errorf("watermark.opacity", "watermark.opacity = %s is out of range; want more than 0, at most 1", formatFloat(w.Opacity))
	}
}

// audio checks the audio table against the codecs a kind allows, filling the
// codec and bitrate defaults. It returns the codec if it is valid.
func (t tableCheck) audio(a *Audio, allowed []string, codec string, bitrate Bitrate) string {
	if !t.enum("audio.codec", &a.Codec, codec, allowed...) {
		return ""
	}
	if a.Codec == "pcm" {
		if t.usable("audio.bitrate") {
			t.errorf("audio.bitrate", "audio.bitrate does not apply to pcm, which is uncompressed; remove it")
		}
		return a.Codec
	}
	if !t.has("audio.bitrate") {
		a.Bitrate = bitrate
		return a.Codec
	}
	if !t.usable("audio.bitrate") {
		return a.Codec
	}
	lo, hi := Bitrate(32_000), Bitrate(1_536_000)
	switch a.Codec {
	case "mp2":
		hi = 384_000 // the MPEG-1 Layer II maximum
	case "ac3":
		hi = 640_000 // the AC-3 maximum
	case "aac":
		lo = 16_000
	}
	if a.Bitrate < lo || a.Bitrate > hi {
		t.errorf("audio.bitrate", "audio.bitrate %s is out of range for %s; want %s to %s (bitrates count bits per second)", a.Bitrate, a.Codec, lo, hi)
	}
	return a.Codec
}

func (t tableCheck) videoBitrate(p *Profile, def Bitrate) {
	switch {
	case !t.has("video_bitrate"):
		p.VideoBitrate = def
	case t.usable("video_bitrate") && p.VideoBitrate < minVideoBitrate:
		t.errorf("video_bitrate", "video_bitrate %s (%d bit/s) is below 100k; bitrates count bits per second, so 8 Mbit/s is \"8M\"", p.VideoBitrate, int64(p.VideoBitrate))
	}
}

// standardRates are the frame rates the SD standards run at.
var standardRates = map[string]string{"pal": "25/1", "secam": "25/1", "ntsc": "30000/1001"}

func (t tableCheck) broadcast(p *Profile) {
	stdOK := t.required("standard", &p.Standard, ` for kind = "broadcast"`, "pal", "ntsc", "secam")
	codecOK := t.enum("codec", &p.Codec, "mpeg2", "mpeg2", "h264", "d10")
	t.enum("aspect", &p.Aspect, "16:9", "4:3", "16:9")
	// TFF is the broadcast norm; BFF is for targets that want it (DV-era
	// 525-line servers).
	t.enum("field_order", &p.FieldOrder, "tff", "tff", "bff")

	container := "ts"
	if p.Codec == "d10" {
		container = "mxf" // D-10 exists only as MXF; defaulting to ts would only produce an error
	}
	containerOK := t.enum("container", &p.Container, container, "ts", "mxf") && codecOK
	if containerOK {
		switch {
		case p.Codec == "d10" && p.Container != "mxf":
			t.errorf("container", "codec \"d10\" requires container = \"mxf\" (D-10 is defined as MXF-wrapped essence, SMPTE 386M)")
			containerOK = false
		case p.Codec == "h264" && p.Container == "mxf":
			t.errorf("container", "container \"mxf\" cannot carry codec \"h264\"; use container = \"ts\"")
			containerOK = false
		}
	}

	if codecOK {
		t.videoBitrate(p, map[string]Bitrate{"mpeg2": 8_000_000, "h264": 5_000_000, "d10": 50_000_000}[p.Codec])
		if p.Codec == "d10" && t.usable("video_bitrate") &&
			!slices.Contains([]Bitrate{30_000_000, 40_000_000, 50_000_000}, p.VideoBitrate) {
			t.errorf("video_bitrate", "codec \"d10\" runs at exactly 30M, 40M or 50M, not %s", p.VideoBitrate)
		}
	}

	audio := "mp2"
	if p.Codec == "d10" || p.Container == "mxf" {
		audio = "pcm"
	}
	switch codec := t.audio(&p.Audio, []string{"mp2", "ac3", "aac", "pcm"}, audio, 256_000); {
	case codec == "" || codec == "pcm":
	case p.Codec == "d10" && codecOK:
		t.errorf("audio.codec", "codec \"d10\" requires audio codec \"pcm\" (D-10 carries AES3 PCM audio)")
	case p.Container == "mxf" && containerOK:
		t.errorf("audio.codec", "container \"mxf\" carries audio as \"pcm\" only")
	}
	if !t.has("audio.loudness") {
		l := -23.0 // EBU R 128
		p.Audio.Loudness = &l
	}

	if stdOK && t.usable("frame_rate") && p.FrameRate != standardRates[p.Standard] {
		t.errorf("frame_rate", "frame_rate %q does not match standard %q, which runs at %s; remove frame_rate, the standard fixes it",
			p.FrameRate, p.Standard, standardRates[p.Standard])
	}
}

func (t tableCheck) abr(p *Profile) {
	switch {
	case !t.has("formats"):
		p.Formats = []string{"hls"}
	case !t.usable("formats"):
	case len(p.Formats) == 0:
		t.errorf("formats", "formats is empty; want one or more of \"hls\", \"dash\", \"smooth\"")
	default:
		for i, f := range p.Formats {
			elem := fmt.Sprintf("formats.#%d", i)
			switch {
			case !slices.Contains([]string{"hls", "dash", "smooth"}, f):
				t.errorf(elem, "format %q is not valid; want \"hls\", \"dash\" or \"smooth\"", f)
			case slices.Contains(p.Formats[:i], f):
				t.errorf(elem, "format %q is listed twice", f)
			}
		}
	}
	// Unset leaves 0: the ladder is then the default 2400k, 600k, 300k, 120k;
	// a set rate r gives r, r/2, r/4, r/8 (packaging.Ladder).
	t.videoBitrate(p, 0)
	t.duration("segment", &p.Segment, 4*time.Second, time.Second, 30*time.Second, "")
	t.enum("package", &p.Package, "dir", "dir", "tar")
	if e := p.Encryption; e != nil && t.usable("encryption") {
		t.enum("encryption.method", &e.Method, "aes-128", "aes-128")
		switch {
		case !t.has("encryption.key_uri"):
			t.errorf("encryption", "encryption.key_uri is required")
		case !t.usable("encryption.key_uri"):
		case e.KeyURI == "":
			t.errorf("encryption.key_uri", "encryption.key_uri is empty")
		case strings.ContainsFunc(e.KeyURI, unicode.IsSpace):
			// The URI lands verbatim in playlists, where whitespace ends it.
			t.errorf("encryption.key_uri", "encryption.key_uri %q contains whitespace; percent-encode it (%%20)", e.KeyURI)
		case strings.ContainsAny(e.KeyURI, "\"\\"):
			// It is written inside a quoted playlist attribute, which has no escapes.
			t.errorf("encryption.key_uri", "encryption.key_uri %q contains a quote or backslash; percent-encode it", e.KeyURI)
		}
		if t.usable("encryption.rotate") {
			switch {
			case e.Rotate < 0 || e.Rotate > 100000:
				t.errorf("encryption.rotate", "encryption.rotate = %d is out of range; want segments per key, 0 (one key) to 100000", e.Rotate)
			case e.Rotate > 0 && !strings.Contains(e.KeyURI, "{key}"):
				t.errorf("encryption.rotate", "encryption.rotate = %d needs {key} in key_uri, so that each key gets its own URI", e.Rotate)
			}
		}
	}
	t.audio(&p.Audio, []string{"aac", "ac3"}, "aac", 128_000)
}

// fileContainers lists where each file codec may go, first the default.
var fileContainers = map[string][]string{
	"h264":   {"mp4", "mov", "mkv", "ts"},
	"hevc":   {"mp4", "mov", "mkv", "ts"},
	"mpeg2":  {"mp4", "mov", "mkv", "ts", "mxf"},
	"prores": {"mov", "mkv", "mxf"},
	"ffv1":   {"mkv", "mov"},
}

func (t tableCheck) file(p *Profile) {
	codecOK := t.required("codec", &p.Codec, ` for kind = "file"`, "h264", "hevc", "mpeg2", "prores", "ffv1")
	container := ""
	if codecOK {
		container = fileContainers[p.Codec][0]
	}
	containerOK := t.enum("container", &p.Container, container, "mov", "mp4", "mkv", "ts", "mxf") && codecOK
	if containerOK && !slices.Contains(fileContainers[p.Codec], p.Container) {
		t.errorf("container", "container %q cannot carry codec %q; use %s", p.Container, p.Codec, orList(fileContainers[p.Codec]))
		containerOK = false
	}
	intra := p.Codec == "prores" || p.Codec == "ffv1"
	if codecOK {
		if intra {
			if t.has("video_bitrate") {
				t.errorf("video_bitrate", "video_bitrate does not apply to codec %q, which is quality-based; remove it", p.Codec)
			}
		} else {
			t.videoBitrate(p, map[string]Bitrate{"h264": 8_000_000, "hevc": 6_000_000, "mpeg2": 15_000_000}[p.Codec])
		}
	}

	audio := "aac"
	if intra || p.Container == "mxf" {
		audio = "pcm"
	}
	// The audio defaults always suit a valid container, so a clash below is
	// with an audio codec the user wrote; after a container error, a clash
	// would only repeat it.
	switch codec := t.audio(&p.Audio, []string{"aac", "mp2", "ac3", "pcm"}, audio, 192_000); {
	case codec == "" || !containerOK:
	case codec == "pcm":
		if p.Container == "mp4" {
			t.errorf("audio.codec", "container \"mp4\" cannot carry pcm audio; use \"aac\" or \"ac3\", or container = \"mov\"")
		}
	default:
		if p.Container == "mxf" {
			t.errorf("audio.codec", "container \"mxf\" carries audio as \"pcm\" only")
		}
	}
}

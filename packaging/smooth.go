package packaging

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/Eyevinn/mp4ff/mp4"
)

// SmoothTimescale is Smooth Streaming's clock: 100 ns ticks.
const SmoothTimescale = 10_000_000

// SmoothStaticManifest is the client manifest's name in the static layout.
// A Smooth Streaming client opens <publishing point>/Manifest: on an IIS
// origin that is <name>.ism/Manifest, which IIS answers from the .ism and
// the .ismv files; in the static layout the smooth folder is the publishing
// point, and smooth/Manifest and the pre-split fragments beside it are
// plain files that any HTTP server or CDN answers.
const SmoothStaticManifest = "Manifest"

// smoothFragmentURL is the client manifest's Url template. Relative to the
// manifest's URL, it names one fragment of one quality; the static layout
// writes each fragment at exactly that path.
const smoothFragmentURL = "QualityLevels({bitrate})/Fragments(%s={start time})"

// SmoothQuality is one bitrate of a Smooth Streaming stream: one .ismv
// (video) or .isma (audio) file with one track.
type SmoothQuality struct {
	File    string // relative to the manifests
	Bitrate int64
	// Video.
	Width, Height int
	AVC           *AVCConfig
	// Audio.
	Audio *AudioConfig
}

// SmoothStream is a StreamIndex: the qualities a client switches between,
// which must share their fragment times.
type SmoothStream struct {
	Type      string // video | audio
	Name      string
	Language  string // ISO 639-2; "" when unknown
	Qualities []SmoothQuality
	Chunks    []Fragment // times in SmoothTimescale
}

// SmoothManifest is a Smooth Streaming presentation on demand: the .ism
// server manifest that IIS Media Services (or a compatible origin) reads to
// map fragment URLs into the files, and the .ismc client manifest players
// load.
type SmoothManifest struct {
	Streams []SmoothStream
}

// smoothName is what a StreamIndex name may hold: it appears inside the
// fragment URLs (Fragments(<name>=<time>)) and in the static layout's file
// names, where parentheses, "=", "/" or spaces would break the template or
// need escaping that clients do not do.
var smoothName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// languageTag is an ISO 639 code or an RFC 5646 tag, as the manifests
// carry languages.
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// validate rejects what the manifests cannot represent, rather than write a
// manifest a client misreads.
func (m SmoothManifest) validate() error {
	if len(m.Streams) == 0 {
		return errors.New("Smooth Streaming: no streams")
	}
	names := map[string]bool{}
	for _, s := range m.Streams {
		if s.Type != "video" && s.Type != "audio" {
			return fmt.Errorf("Smooth Streaming stream %q has type %q; Kiln writes video and audio streams", s.Name, s.Type)
		}
		if !smoothName.MatchString(s.Name) {
			return fmt.Errorf("Smooth Streaming stream name %q: use 1 to 64 letters, digits, '.', '_' or '-' (it is part of every fragment URL)", s.Name)
		}
		if names[s.Name] {
			return fmt.Errorf("Smooth Streaming has two streams named %q; their fragment URLs would collide", s.Name)
		}
		names[s.Name] = true
		if s.Language != "" && !languageTag.MatchString(s.Language) {
			return fmt.Errorf("Smooth Streaming stream %s: language %q is not an ISO 639 code or language tag", s.Name, s.Language)
		}
		if len(s.Qualities) == 0 {
			return fmt.Errorf("Smooth Streaming stream %s has no quality levels", s.Name)
		}
		bitrates := map[int64]bool{}
		for _, q := range s.Qualities {
			if err := checkPlainFileName(q.File); err != nil {
				return fmt.Errorf("Smooth Streaming stream %s: %w", s.Name, err)
			}
			if q.Bitrate <= 0 {
				return fmt.Errorf("Smooth Streaming %s: bitrate %d; it must be positive", q.File, q.Bitrate)
			}
			// The Url template tells qualities apart by bitrate alone.
			if bitrates[q.Bitrate] {
				return fmt.Errorf("Smooth Streaming stream %s has two qualities at %d bit/s; their fragment URLs would collide", s.Name, q.Bitrate)
			}
			bitrates[q.Bitrate] = true
			if err := q.checkCodec(s.Type); err != nil {
				return fmt.Errorf("Smooth Streaming %s: %w", q.File, err)
			}
		}
		if len(s.Chunks) == 0 {
			return fmt.Errorf("Smooth Streaming stream %s has no fragments", s.Name)
		}
		var end uint64
		for i, c := range s.Chunks {
			if c.Duration == 0 || c.Duration > math.MaxInt64 || c.Time > math.MaxInt64-c.Duration {
				return fmt.Errorf("Smooth Streaming stream %s fragment %d: time %d and duration %d are out of range", s.Name, i+1, c.Time, c.Duration)
			}
			if i > 0 && c.Time < end {
				return fmt.Errorf("Smooth Streaming stream %s fragment %d starts at %d, before fragment %d ends at %d", s.Name, i+1, c.Time, i, end)
			}
			end = c.Time + c.Duration
		}
	}
	return nil
}

// checkCodec checks what the QualityLevel's FourCC and CodecPrivateData
// are made of.
func (q SmoothQuality) checkCodec(streamType string) error {
	switch {
	case streamType == "video" && q.AVC != nil:
		if len(q.AVC.SPS) == 0 || len(q.AVC.PPS) == 0 {
			return errors.New("the H.264 configuration lacks an SPS or a PPS, which CodecPrivateData must carry")
		}
		if q.Width <= 0 || q.Height <= 0 {
			return fmt.Errorf("raster %dx%d", q.Width, q.Height)
		}
	case streamType == "audio" && q.Audio != nil && q.Audio.Codec == "aac":
		if len(q.Audio.ASC) < 2 || q.Audio.SampleRate <= 0 || q.Audio.Channels <= 0 {
			return fmt.Errorf("AAC at %d Hz, %d channels, AudioSpecificConfig of %d bytes: incomplete", q.Audio.SampleRate, q.Audio.Channels, len(q.Audio.ASC))
		}
	default:
		return fmt.Errorf("Smooth Streaming carries H.264 video and AAC audio; this %s quality has neither", streamType)
	}
	return nil
}

// checkPlainFileName accepts a file name in the manifests' folder: no
// folders, no control characters, valid UTF-8.
func checkPlainFileName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("file name %q", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("file name %q is not UTF-8", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("file name %q holds a folder; the manifests name files beside them", name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) >= 0:
		return fmt.Errorf("file name %q holds a control character", name)
	}
	return nil
}

// ReadChunks reads every quality's fragments from dir and checks that
// they share their times, which is what lets a client switch between them.
// It sets the stream's Chunks.
func (s *SmoothStream) ReadChunks(dir string) error {
	for i, q := range s.Qualities {
		frags, err := ReadFragments(filepath.Join(dir, q.File))
		if err != nil {
			return fmt.Errorf("Smooth Streaming %s: %w", q.File, err)
		}
		if len(frags) == 0 {
			return fmt.Errorf("Smooth Streaming %s has no fragments", q.File)
		}
		if i == 0 {
			s.Chunks = frags
			continue
		}
		if len(frags) != len(s.Chunks) {
			return fmt.Errorf("Smooth Streaming %s has %d fragments, %s has %d: the qualities cannot switch",
				q.File, len(frags), s.Qualities[0].File, len(s.Chunks))
		}
		for j := range frags {
			if frags[j].Time != s.Chunks[j].Time {
				return fmt.Errorf("Smooth Streaming %s fragment %d starts at %d, in %s at %d: the qualities are not aligned",
					q.File, j+1, frags[j].Time, s.Qualities[0].File, s.Chunks[j].Time)
			}
		}
	}
	return nil
}

// Duration is the presentation's length in SmoothTimescale ticks.
func (m SmoothManifest) Duration() uint64 {
	var d uint64
	for _, s := range m.Streams {
		if n := len(s.Chunks); n > 0 {
			d = max(d, s.Chunks[n-1].Time+s.Chunks[n-1].Duration)
		}
	}
	return d
}

type ismcXML struct {
	XMLName      xml.Name         `xml:"SmoothStreamingMedia"`
	MajorVersion int              `xml:"MajorVersion,attr"`
	MinorVersion int              `xml:"MinorVersion,attr"`
	TimeScale    int              `xml:"TimeScale,attr"`
	Duration     uint64           `xml:"Duration,attr"`
	Streams      []streamIndexXML `xml:"StreamIndex"`
}

type streamIndexXML struct {
	Type          string            `xml:"Type,attr"`
	Name          string            `xml:"Name,attr"`
	Language      string            `xml:"Language,attr,omitempty"`
	Chunks        int               `xml:"Chunks,attr"`
	QualityLevels int               `xml:"QualityLevels,attr"`
	URL           string            `xml:"Url,attr"`
	MaxWidth      int               `xml:"MaxWidth,attr,omitempty"`
	MaxHeight     int               `xml:"MaxHeight,attr,omitempty"`
	DisplayWidth  int               `xml:"DisplayWidth,attr,omitempty"`
	DisplayHeight int               `xml:"DisplayHeight,attr,omitempty"`
	Levels        []qualityLevelXML `xml:"QualityLevel"`
	C             []chunkXML        `xml:"c"`
}

type qualityLevelXML struct {
	Index            int    `xml:"Index,attr"`
	Bitrate          int64  `xml:"Bitrate,attr"`
	FourCC           string `xml:"FourCC,attr"`
	MaxWidth         int    `xml:"MaxWidth,attr,omitempty"`
	MaxHeight        int    `xml:"MaxHeight,attr,omitempty"`
	SamplingRate     int    `xml:"SamplingRate,attr,omitempty"`
	Channels         int    `xml:"Channels,attr,omitempty"`
	BitsPerSample    int    `xml:"BitsPerSample,attr,omitempty"`
	PacketSize       int    `xml:"PacketSize,attr,omitempty"`
	AudioTag         int    `xml:"AudioTag,attr,omitempty"`
	CodecPrivateData string `xml:"CodecPrivateData,attr"`
}

type chunkXML struct {
	T *uint64 `xml:"t,attr"`
	D uint64  `xml:"d,attr"`
}

// ClientManifest writes the .ismc (which is also the static layout's
// Manifest).
func (m SmoothManifest) ClientManifest() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	doc := ismcXML{MajorVersion: 2, MinorVersion: 2, TimeScale: SmoothTimescale, Duration: m.Duration()}
	for _, s := range m.Streams {
		x := streamIndexXML{Type: s.Type, Name: s.Name, Language: s.Language, Chunks: len(s.Chunks), QualityLevels: len(s.Qualities),
			URL: fmt.Sprintf(smoothFragmentURL, s.Name)}
		for i, q := range s.Qualities {
			l := qualityLevelXML{Index: i, Bitrate: q.Bitrate}
			switch {
			case s.Type == "video" && q.AVC != nil:
				l.FourCC, l.MaxWidth, l.MaxHeight = "H264", q.Width, q.Height
				l.CodecPrivateData = strings.ToUpper(hex.EncodeToString(q.AVC.AnnexB()))
				x.MaxWidth, x.MaxHeight = max(x.MaxWidth, q.Width), max(x.MaxHeight, q.Height)
				x.DisplayWidth, x.DisplayHeight = x.MaxWidth, x.MaxHeight
			case s.Type == "audio" && q.Audio != nil && q.Audio.Codec == "aac":
				l.FourCC, l.SamplingRate, l.Channels = "AACL", q.Audio.SampleRate, q.Audio.Channels
				l.BitsPerSample, l.PacketSize, l.AudioTag = 16, 4, 255
				l.CodecPrivateData = strings.ToUpper(hex.EncodeToString(q.Audio.ASC))
			default:
				return nil, fmt.Errorf("Smooth Streaming carries H.264 video and AAC audio; %s stream %s has neither", s.Type, s.Name)
			}
			x.Levels = append(x.Levels, l)
		}
		var next uint64
		for i, c := range s.Chunks {
			e := chunkXML{D: c.Duration}
			if i == 0 || c.Time != next {
				t := c.Time
				e.T = &t
			}
			x.C = append(x.C, e)
			next = c.Time + c.Duration
		}
		doc.Streams = append(doc.Streams, x)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing the Smooth Streaming client manifest: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

type smilXML struct {
	XMLName xml.Name `xml:"smil"`
	Xmlns   string   `xml:"xmlns,attr"`
	Head    struct {
		Meta []metaXML `xml:"meta"`
	} `xml:"head"`
	Body struct {
		Switch struct {
			Media []smilMediaXML
		} `xml:"switch"`
	} `xml:"body"`
}

type metaXML struct {
	Name    string `xml:"name,attr"`
	Content string `xml:"content,attr"`
}

type smilMediaXML struct {
	XMLName       xml.Name
	Src           string         `xml:"src,attr"`
	SystemBitrate int64          `xml:"systemBitrate,attr"`
	SystemLang    string         `xml:"systemLanguage,attr,omitempty"`
	Params        []smilParamXML `xml:"param"`
}

type smilParamXML struct {
	Name      string `xml:"name,attr"`
	Value     string `xml:"value,attr"`
	ValueType string `xml:"valuetype,attr"`
}

// ServerManifest writes the .ism that points an origin at the client
// manifest and at each quality's file and track.
func (m SmoothManifest) ServerManifest(clientManifest string) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	if err := checkPlainFileName(clientManifest); err != nil {
		return nil, fmt.Errorf("Smooth Streaming client manifest: %w", err)
	}
	var doc smilXML
	doc.Xmlns = "http://www.w3.org/2001/SMIL20/Language"
	doc.Head.Meta = []metaXML{{Name: "clientManifestRelativePath", Content: clientManifest}}
	for _, s := range m.Streams {
		for _, q := range s.Qualities {
			doc.Body.Switch.Media = append(doc.Body.Switch.Media, smilMediaXML{
				XMLName: xml.Name{Local: s.Type}, Src: q.File, SystemBitrate: q.Bitrate, SystemLang: s.Language,
				Params: []smilParamXML{
					{Name: "trackID", Value: "1", ValueType: "data"},
					{Name: "trackName", Value: s.Name, ValueType: "data"},
				},
			})
		}
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing the Smooth Streaming server manifest: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// FragmentPath is where the client manifest's Url template puts the
// fragment of a quality that starts at t, relative to the manifest.
func (s SmoothStream) FragmentPath(bitrate int64, t uint64) string {
	return strings.NewReplacer("{bitrate}", strconv.FormatInt(bitrate, 10), "{start time}", strconv.FormatUint(t, 10)).
		Replace(fmt.Sprintf(smoothFragmentURL, s.Name))
}

// WriteStaticFragments splits every quality's file in dir into one file per
// fragment, at the path the Url template gives (FragmentPath), each holding
// the moof and mdat an IIS origin would serve for that URL. It returns how
// many files it wrote. ReadChunks must have run.
func (m SmoothManifest) WriteStaticFragments(dir string) (int, error) {
	if err := m.validate(); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range m.Streams {
		for _, q := range s.Qualities {
			written, err := s.splitQuality(dir, q)
			n += written
			if err != nil {
				return n, fmt.Errorf("Smooth Streaming static layout, %s: %w", q.File, err)
			}
		}
	}
	return n, nil
}

func (s SmoothStream) splitQuality(dir string, q SmoothQuality) (int, error) {
	src := filepath.Join(dir, q.File)
	frags, err := ReadFragments(src)
	if err != nil {
		return 0, err
	}
	if len(frags) != len(s.Chunks) {
		return 0, fmt.Errorf("%d fragments, the client manifest lists %d", len(frags), len(s.Chunks))
	}
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for i, fr := range frags {
		if fr.Time != s.Chunks[i].Time {
			return i, fmt.Errorf("fragment %d starts at %d, the client manifest says %d", i+1, fr.Time, s.Chunks[i].Time)
		}
		dst := filepath.Join(dir, filepath.FromSlash(s.FragmentPath(q.Bitrate, fr.Time)))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return i, err
		}
		if err := copyRange(dst, f, fr.Offset, fr.Size); err != nil {
			return i, err
		}
	}
	return len(frags), nil
}

func copyRange(dst string, src io.ReaderAt, off, size int64) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.NewSectionReader(src, off, size)); err != nil {
		out.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return out.Close()
}

// CheckStaticSmooth reads the static layout's Manifest in dir back and
// checks that every URL it makes a client fetch is a file holding one
// fragment with the time and duration the manifest gives. It returns the
// number of fragments checked.
func CheckStaticSmooth(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, SmoothStaticManifest))
	if err != nil {
		return 0, err
	}
	var doc ismcXML
	if err := xml.Unmarshal(b, &doc); err != nil {
		return 0, fmt.Errorf("Smooth Streaming %s: %w", SmoothStaticManifest, err)
	}
	n := 0
	for _, s := range doc.Streams {
		for _, l := range s.Levels {
			var next uint64
			for i, c := range s.C {
				t := next
				if c.T != nil {
					t = *c.T
				}
				next = t + c.D
				url := strings.NewReplacer("{bitrate}", strconv.FormatInt(l.Bitrate, 10), "{start time}", strconv.FormatUint(t, 10)).Replace(s.URL)
				if !filepath.IsLocal(filepath.FromSlash(url)) {
					return n, fmt.Errorf("Smooth Streaming %s: stream %s's Url %q leads out of the package", SmoothStaticManifest, s.Name, s.URL)
				}
				fr, err := readFragmentFile(filepath.Join(dir, filepath.FromSlash(url)))
				if err != nil {
					return n, fmt.Errorf("Smooth Streaming %s, stream %s chunk %d: %w", SmoothStaticManifest, s.Name, i+1, err)
				}
				if fr.Time != t || fr.Duration != c.D {
					return n, fmt.Errorf("Smooth Streaming %s holds the fragment at %d for %d, the manifest says %d for %d", url, fr.Time, fr.Duration, t, c.D)
				}
				n++
			}
		}
	}
	return n, nil
}

// readFragmentFile reads a file that must hold exactly one moof and its
// mdat, which is what a client's fragment request must return.
func readFragmentFile(path string) (Fragment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Fragment{}, err
	}
	var types []string
	var moof *mp4.MoofBox
	err = walkBoxes(bytes.NewReader(b), int64(len(b)), func(hdr mp4.BoxHeader, off int64) error {
		types = append(types, hdr.Name)
		if hdr.Name == "moof" && moof == nil {
			var err error
			moof, _, err = readMoof(bytes.NewReader(b), off, hdr)
			return err
		}
		return nil
	})
	if err != nil {
		return Fragment{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(types) != 2 || types[0] != "moof" || types[1] != "mdat" {
		return Fragment{}, fmt.Errorf("%s holds boxes %v, want moof and mdat", path, types)
	}
	fr, err := fragmentOf(moof)
	if err != nil {
		return Fragment{}, fmt.Errorf("%s: %w", path, err)
	}
	fr.Size = int64(len(b))
	return fr, nil
}

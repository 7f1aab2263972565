package packaging

import (
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
)

// SmoothTimescale is Smooth Streaming's clock: 100 ns ticks.
const SmoothTimescale = 10_000_000

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

// ClientManifest writes the .ismc.
func (m SmoothManifest) ClientManifest() ([]byte, error) {
	doc := ismcXML{MajorVersion: 2, MinorVersion: 2, TimeScale: SmoothTimescale, Duration: m.Duration()}
	for _, s := range m.Streams {
		x := streamIndexXML{Type: s.Type, Name: s.Name, Language: s.Language, Chunks: len(s.Chunks), QualityLevels: len(s.Qualities),
			URL: fmt.Sprintf("QualityLevels({bitrate})/Fragments(%s={start time})", s.Name)}
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

package packaging

import (
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Manifest and folder names of a package.
const (
	HLSMaster        = "master.m3u8"      // HLS over MPEG-TS (AES-128 when encrypted)
	CMAFHLSMaster    = "master-cmaf.m3u8" // HLS over the CMAF segments DASH uses
	DASHManifestFile = "manifest.mpd"
	HLSFolder        = "hls"
	CMAFFolder       = "cmaf"
	SmoothFolder     = "smooth"
	ThumbFolder      = "thumbnails"

	mediaPlaylist  = "index.m3u8"
	iframePlaylist = "iframes.m3u8"
	audioGroup     = "audio"
)

// VideoRendition is one rung as encoded: its tracks in each format.
type VideoRendition struct {
	Rung   Rung
	AVC    AVCConfig
	TS     *TSTrack   // nil without HLS
	CMAF   *CMAFTrack // nil without DASH
	Smooth string     // .ismv file in the smooth folder; "" without Smooth
}

// AudioRendition is one audio track as encoded.
type AudioRendition struct {
	Name     string // folder and stream name: "audio", "audio-2", …
	Label    string // what a player's menu shows
	Language string // ISO 639-2 from the source; "" or "und" when unknown
	Config   AudioConfig
	TS       *TSTrack
	CMAF     *CMAFTrack
	Smooth   string // .isma file in the smooth folder
}

// Package is an ABR package being written into Dir.
type Package struct {
	Dir        string
	Name       string // the source's name: Smooth manifests are Name.ism and Name.ismc
	Segment    float64
	Duration   float64 // seconds of video
	Video      []VideoRendition
	Audio      []AudioRendition
	WithIFrame bool // write I-frame playlists for clear renditions
}

// FileGroup is one part of a package as the report lists it.
type FileGroup struct {
	Format   string `json:"format"`   // what a player opens it as
	Manifest string `json:"manifest"` // its entry point, relative to the package
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Note     string `json:"note,omitempty"`
}

// WriteHLS writes the MPEG-TS media playlists of every rendition, their
// I-frame playlists (clear renditions only), and master.m3u8.
func (p *Package) WriteHLS() error {
	m := MasterPlaylist{Version: 4}
	audioPeak, audioAvg, audioCodecs, err := p.writeAudioPlaylists(&m, HLSFolder, false)
	if err != nil {
		return err
	}
	for _, v := range p.Video {
		segs := v.TS.Segments()
		entries := make([]PlaylistEntry, len(segs))
		sizes, durs := make([]int64, len(segs)), make([]float64, len(segs))
		for i, s := range segs {
			d := float64(s.Duration) / TSTimescale
			entries[i] = PlaylistEntry{URI: s.URI, Duration: d, Key: s.Key}
			sizes[i], durs[i] = s.Size, d
		}
		dir := path.Join(HLSFolder, v.Rung.Name)
		if err := p.writePlaylist(dir, mediaPlaylist, MediaPlaylist{Version: 3, Entries: entries}); err != nil {
			return err
		}
		m.Variants = append(m.Variants, p.variant(v, dir, sizes, durs, audioPeak, audioAvg, audioCodecs))
		if p.WithIFrame && !v.TS.Encrypted() {
			f, err := p.writeIFrames(dir, v, tsSegmentsOf(segs), TSTimescale, "")
			if err != nil {
				return err
			}
			m.IFrames = append(m.IFrames, f)
		}
	}
	return writeMaster(filepath.Join(p.Dir, HLSMaster), m)
}

// WriteCMAFHLS writes HLS playlists over the CMAF segments that the DASH
// manifest uses too, and master-cmaf.m3u8.
func (p *Package) WriteCMAFHLS() error {
	m := MasterPlaylist{Version: 6}
	audioPeak, audioAvg, audioCodecs, err := p.writeAudioPlaylists(&m, CMAFFolder, true)
	if err != nil {
		return err
	}
	for _, v := range p.Video {
		segs := v.CMAF.Segments()
		ts := float64(v.CMAF.Config().Timescale)
		entries := make([]PlaylistEntry, len(segs))
		sizes, durs := make([]int64, len(segs)), make([]float64, len(segs))
		for i, s := range segs {
			d := float64(s.Duration) / ts
			entries[i] = PlaylistEntry{URI: s.URI, Duration: d}
			sizes[i], durs[i] = s.Size, d
		}
		dir := path.Join(CMAFFolder, v.Rung.Name)
		if err := p.writePlaylist(dir, mediaPlaylist, MediaPlaylist{Version: 6, MapURI: CMAFInit, Entries: entries}); err != nil {
			return err
		}
		m.Variants = append(m.Variants, p.variant(v, dir, sizes, durs, audioPeak, audioAvg, audioCodecs))
		if p.WithIFrame {
			f, err := p.writeIFrames(dir, v, segs, ts, CMAFInit)
			if err != nil {
				return err
			}
			m.IFrames = append(m.IFrames, f)
		}
	}
	return writeMaster(filepath.Join(p.Dir, CMAFHLSMaster), m)
}

func writeMaster(file string, m MasterPlaylist) error {
	out, err := m.Render()
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(file), err)
	}
	return os.WriteFile(file, out, 0o644)
}

// writeAudioPlaylists writes each audio rendition's playlist and adds it to
// the master's audio group. It returns the peak and average bit rates of the
// costliest rendition, which every variant's BANDWIDTH must include, and the
// audio codecs.
func (p *Package) writeAudioPlaylists(m *MasterPlaylist, folder string, cmaf bool) (peak, avg int64, codecs []string, err error) {
	for i, a := range p.Audio {
		var entries []PlaylistEntry
		var sizes []int64
		var durs []float64
		pl := MediaPlaylist{Version: 3}
		if cmaf {
			pl = MediaPlaylist{Version: 6, MapURI: CMAFInit}
			ts := float64(a.CMAF.Config().Timescale)
			for _, s := range a.CMAF.Segments() {
				d := float64(s.Duration) / ts
				entries = append(entries, PlaylistEntry{URI: s.URI, Duration: d})
				sizes, durs = append(sizes, s.Size), append(durs, d)
			}
		} else {
			for _, s := range a.TS.Segments() {
				d := float64(s.Duration) / TSTimescale
				entries = append(entries, PlaylistEntry{URI: s.URI, Duration: d, Key: s.Key})
				sizes, durs = append(sizes, s.Size), append(durs, d)
			}
		}
		pl.Entries = entries
		dir := path.Join(folder, a.Name)
		if err := p.writePlaylist(dir, mediaPlaylist, pl); err != nil {
			return 0, 0, nil, err
		}
		peak = max(peak, PeakBitrate(sizes, durs, p.Segment))
		avg = max(avg, AverageBitrate(sizes, durs))
		if c := a.Config.Codecs(); !containsString(codecs, c) {
			codecs = append(codecs, c)
		}
		m.Audio = append(m.Audio, AudioMedia{GroupID: audioGroup, Name: a.Label, Language: hlsLanguage(a.Language),
			Default: i == 0, Channels: a.Config.Channels, URI: path.Join(dir, mediaPlaylist)})
	}
	return peak, avg, codecs, nil
}

func (p *Package) variant(v VideoRendition, dir string, sizes []int64, durs []float64, audioPeak, audioAvg int64, audioCodecs []string) Variant {
	vr := Variant{
		Bandwidth:        PeakBitrate(sizes, durs, p.Segment) + audioPeak,
		AverageBandwidth: AverageBitrate(sizes, durs) + audioAvg,
		Codecs:           strings.Join(append([]string{v.AVC.Codecs()}, audioCodecs...), ","),
		Width:            v.Rung.Width, Height: v.Rung.Height,
		FrameRate: v.Rung.Rate.Float(),
		URI:       path.Join(dir, mediaPlaylist),
	}
	if len(p.Audio) > 0 {
		vr.AudioGroup = audioGroup
	}
	return vr
}

// writeIFrames writes a rendition's I-frame playlist: each keyframe as a
// byte range of its segment. An fMP4 range starts at the keyframe's moof and
// needs the init segment (mapURI).
func (p *Package) writeIFrames(dir string, v VideoRendition, segs []Segment, timescale float64, mapURI string) (IFrameVariant, error) {
	pl := MediaPlaylist{Version: 4, IFramesOnly: true, MapURI: mapURI}
	if mapURI != "" {
		pl.Version = 5
	}
	var peak float64
	for _, s := range segs {
		for _, k := range s.Keyframes {
			d := float64(k.Duration) / timescale
			pl.Entries = append(pl.Entries, PlaylistEntry{URI: s.URI, Duration: d, ByteRange: &ByteRange{Length: k.Length, Offset: k.Offset}})
			if d > 0 {
				peak = math.Max(peak, float64(k.Length*8)/d)
			}
		}
	}
	if len(pl.Entries) == 0 {
		return IFrameVariant{}, fmt.Errorf("rendition %s has no keyframes for its I-frame playlist", v.Rung.Name)
	}
	if err := p.writePlaylist(dir, iframePlaylist, pl); err != nil {
		return IFrameVariant{}, err
	}
	return IFrameVariant{Bandwidth: int64(math.Ceil(peak)), Codecs: v.AVC.Codecs(), Width: v.Rung.Width, Height: v.Rung.Height,
		URI: path.Join(dir, iframePlaylist)}, nil
}

func (p *Package) writePlaylist(dir, name string, pl MediaPlaylist) error {
	out, err := pl.Render()
	if err != nil {
		return fmt.Errorf("writing HLS playlist %s/%s: %w", dir, name, err)
	}
	if err := os.WriteFile(filepath.Join(p.Dir, filepath.FromSlash(dir), name), out, 0o644); err != nil {
		return fmt.Errorf("writing HLS playlist %s/%s: %w", dir, name, err)
	}
	return nil
}

func tsSegmentsOf(segs []TSSegment) []Segment {
	out := make([]Segment, len(segs))
	for i, s := range segs {
		out[i] = s.Segment
	}
	return out
}

// WriteDASH writes manifest.mpd over the CMAF tracks.
func (p *Package) WriteDASH() error {
	m := DASHManifest{Duration: p.Duration, MinBufferTime: 2 * p.Segment}
	video := DASHAdaptationSet{ContentType: "video"}
	for _, v := range p.Video {
		c := v.CMAF.Config()
		segs := v.CMAF.Segments()
		video.Reps = append(video.Reps, DASHRepresentation{
			ID: v.Rung.Name, Bandwidth: peakOf(segs, c.Timescale, p.Segment), Codecs: v.AVC.Codecs(),
			Width: v.Rung.Width, Height: v.Rung.Height, FrameRate: v.Rung.Rate, SAR: c.SAR,
			Dir: path.Join(CMAFFolder, v.Rung.Name), Timescale: c.Timescale, Segments: segs,
		})
	}
	m.Sets = append(m.Sets, video)
	for _, a := range p.Audio {
		c := a.CMAF.Config()
		segs := a.CMAF.Segments()
		m.Sets = append(m.Sets, DASHAdaptationSet{ContentType: "audio", Language: hlsLanguage(a.Language), Reps: []DASHRepresentation{{
			ID: a.Name, Bandwidth: peakOf(segs, c.Timescale, p.Segment), Codecs: a.Config.Codecs(),
			SampleRate: a.Config.SampleRate, Channels: a.Config.Channels,
			Dir: path.Join(CMAFFolder, a.Name), Timescale: c.Timescale, Segments: segs,
		}}})
	}
	out, err := m.Render()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.Dir, DASHManifestFile), out, 0o644)
}

func peakOf(segs []Segment, timescale uint32, target float64) int64 {
	sizes, durs := make([]int64, len(segs)), make([]float64, len(segs))
	for i, s := range segs {
		sizes[i], durs[i] = s.Size, float64(s.Duration)/float64(timescale)
	}
	return PeakBitrate(sizes, durs, target)
}

// WriteSmooth writes the Smooth Streaming server and client manifests for
// the .ismv and .isma files in the smooth folder, for an IIS Media Services
// origin, and beside them the static layout for plain HTTP servers: the
// client manifest again as Manifest, and every fragment split out at the
// URL the manifest's template gives.
func (p *Package) WriteSmooth() error {
	dir := filepath.Join(p.Dir, SmoothFolder)
	var m SmoothManifest
	video := SmoothStream{Type: "video", Name: "video"}
	for _, v := range p.Video {
		avc := v.AVC
		video.Qualities = append(video.Qualities, SmoothQuality{File: v.Smooth, Bitrate: v.Rung.Bitrate, Width: v.Rung.Width, Height: v.Rung.Height, AVC: &avc})
	}
	m.Streams = append(m.Streams, video)
	for _, a := range p.Audio {
		cfg := a.Config
		m.Streams = append(m.Streams, SmoothStream{Type: "audio", Name: a.Name, Language: smoothLanguage(a.Language),
			Qualities: []SmoothQuality{{File: a.Smooth, Bitrate: a.Config.Bitrate, Audio: &cfg}}})
	}
	for i := range m.Streams {
		if err := m.Streams[i].ReadChunks(dir); err != nil {
			return err
		}
	}
	client, err := m.ClientManifest()
	if err != nil {
		return err
	}
	server, err := m.ServerManifest(p.Name + ".ismc")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{p.Name + ".ismc", client}, {p.Name + ".ism", server}, {SmoothStaticManifest, client}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("writing the Smooth Streaming manifest %s: %w", f.name, err)
		}
	}
	_, err = m.WriteStaticFragments(dir)
	return err
}

// GroupSpec names one part of a package: its manifest and the folder
// holding its media.
type GroupSpec struct {
	Format, Manifest, Folder, Note string
}

// Groups sums up the package's files by the manifest and folder they belong
// to, for the report.
func Groups(dir string, entries []GroupSpec) ([]FileGroup, error) {
	sums, err := SumFiles(dir)
	if err != nil {
		return nil, err
	}
	var groups []FileGroup
	for _, e := range entries {
		g := FileGroup{Format: e.Format, Manifest: e.Manifest, Note: e.Note}
		for _, s := range sums {
			if s.Path == e.Manifest || (e.Folder != "" && strings.HasPrefix(s.Path, e.Folder+"/")) {
				g.Files++
				g.Bytes += s.Size
			}
		}
		groups = append(groups, g)
	}
	return groups, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// iso639 maps the ISO 639-2 codes containers carry to the two-letter codes
// RFC 5646 prefers, for the languages a broadcaster most often delivers.
var iso639 = map[string]string{
	"eng": "en", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "spa": "es", "ita": "it", "por": "pt",
	"dut": "nl", "nld": "nl", "swe": "sv", "nor": "no", "dan": "da", "fin": "fi", "pol": "pl", "rus": "ru",
	"jpn": "ja", "chi": "zh", "zho": "zh", "kor": "ko", "ara": "ar", "tur": "tr", "gre": "el", "ell": "el",
	"cze": "cs", "ces": "cs", "hun": "hu", "heb": "he", "hin": "hi", "wel": "cy", "cym": "cy", "gle": "ga",
}

// hlsLanguage turns a container's ISO 639-2 code into an RFC 5646 tag for
// HLS and DASH; "" when unknown or not a language code at all (a source's
// metadata is not trusted to be one).
func hlsLanguage(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if lang == "" || lang == "und" || !languageTag.MatchString(lang) {
		return ""
	}
	if two, ok := iso639[lang]; ok {
		return two
	}
	return lang
}

// smoothLanguage is the StreamIndex Language: the container's code, or ""
// when it is unknown or not a language tag (a source's metadata is not
// trusted to be one).
func smoothLanguage(lang string) string {
	if lang == "und" || !languageTag.MatchString(lang) {
		return ""
	}
	return lang
}

package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ByteRange is a sub-range of a resource (EXT-X-BYTERANGE).
type ByteRange struct {
	Length, Offset int64
}

// PlaylistEntry is one segment of an HLS media playlist.
type PlaylistEntry struct {
	URI       string
	Duration  float64 // seconds
	ByteRange *ByteRange
	Key       *Key // AES-128 key of the segment; nil when clear
}

// MediaPlaylist is an HLS media playlist (RFC 8216 4.3.3) of a VOD
// rendition, or of its I-frames.
type MediaPlaylist struct {
	Version     int
	MapURI      string // EXT-X-MAP: the fMP4 init segment; "" for TS
	IFramesOnly bool
	Entries     []PlaylistEntry
}

// maxSegmentSeconds bounds a segment's duration: longer is no segment a
// player can buffer, and it keeps the rounding below exact.
const maxSegmentSeconds = 24 * 3600

// TargetDuration is the longest segment as EXTINF writes it (to the
// millisecond), rounded to the nearest second as RFC 8216 4.3.3.1 compares
// it, and at least 1.
func (p MediaPlaylist) TargetDuration() int {
	t := 1
	for _, e := range p.Entries {
		if e.Duration > 0 && e.Duration <= maxSegmentSeconds {
			t = max(t, int(math.Round(roundMillis(e.Duration))))
		}
	}
	return t
}

// minVersion is the lowest EXT-X-VERSION the playlist's features need
// (RFC 8216 section 7).
func (p MediaPlaylist) minVersion() int {
	v := 3 // decimal-floating-point EXTINF durations
	for _, e := range p.Entries {
		if e.ByteRange != nil {
			v = max(v, 4)
		}
	}
	if p.IFramesOnly {
		v = max(v, 4)
	}
	if p.MapURI != "" {
		if p.IFramesOnly {
			v = max(v, 5)
		} else {
			v = max(v, 6)
		}
	}
	return v
}

// validate rejects what the playlist cannot carry, rather than write one a
// player misreads.
func (p MediaPlaylist) validate() error {
	if need := p.minVersion(); p.Version < need {
		return fmt.Errorf("HLS playlist version %d; its tags need version %d or later", p.Version, need)
	}
	if len(p.Entries) == 0 {
		return errors.New("HLS playlist has no segments")
	}
	if p.MapURI != "" {
		if err := checkQuoted("EXT-X-MAP URI", p.MapURI); err != nil {
			return err
		}
	}
	for i, e := range p.Entries {
		if !(e.Duration > 0 && e.Duration <= maxSegmentSeconds) || roundMillis(e.Duration) == 0 {
			return fmt.Errorf("HLS segment %d (%q): duration %v s; it must be at least 1 ms and at most %d s", i+1, e.URI, e.Duration, maxSegmentSeconds)
		}
		if err := checkURILine(e.URI); err != nil {
			return fmt.Errorf("HLS segment %d: %w", i+1, err)
		}
		if r := e.ByteRange; r != nil && (r.Length <= 0 || r.Offset < 0 || r.Offset > math.MaxInt64-r.Length) {
			return fmt.Errorf("HLS segment %d (%q): byte range %d@%d", i+1, e.URI, r.Length, r.Offset)
		}
		if e.Key != nil {
			if err := checkQuoted("EXT-X-KEY URI", e.Key.URI); err != nil {
				return fmt.Errorf("HLS segment %d: %w", i+1, err)
			}
		}
	}
	return nil
}

// Render writes the playlist, or says why it cannot.
func (p MediaPlaylist) Render() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n", p.Version)
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", p.TargetDuration())
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	if p.IFramesOnly {
		b.WriteString("#EXT-X-I-FRAMES-ONLY\n")
	}
	if p.MapURI != "" {
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"%s\"\n", p.MapURI)
	}
	var key *Key
	for _, e := range p.Entries {
		if e.Key != key {
			key = e.Key
			if key == nil {
				b.WriteString("#EXT-X-KEY:METHOD=NONE\n")
			} else {
				fmt.Fprintf(&b, "#EXT-X-KEY:METHOD=AES-128,URI=\"%s\",IV=0x%X\n", key.URI, key.IV[:])
			}
		}
		fmt.Fprintf(&b, "#EXTINF:%s,\n", formatSeconds(e.Duration))
		if e.ByteRange != nil {
			fmt.Fprintf(&b, "#EXT-X-BYTERANGE:%d@%d\n", e.ByteRange.Length, e.ByteRange.Offset)
		}
		b.WriteString(e.URI + "\n")
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.Bytes(), nil
}

// AudioMedia is an EXT-X-MEDIA entry of TYPE=AUDIO.
type AudioMedia struct {
	GroupID  string
	Name     string
	Language string // RFC 5646; "" leaves LANGUAGE out
	Default  bool
	Channels int
	URI      string
}

// Variant is an EXT-X-STREAM-INF entry.
type Variant struct {
	Bandwidth, AverageBandwidth int64 // bit/s, with the audio rendition's
	Codecs                      string
	Width, Height               int
	FrameRate                   float64
	AudioGroup                  string
	URI                         string
}

// IFrameVariant is an EXT-X-I-FRAME-STREAM-INF entry.
type IFrameVariant struct {
	Bandwidth     int64
	Codecs        string
	Width, Height int
	URI           string
}

// MasterPlaylist is an HLS multivariant playlist (RFC 8216 4.3.4).
type MasterPlaylist struct {
	Version  int
	Audio    []AudioMedia
	Variants []Variant
	IFrames  []IFrameVariant
}

// validate rejects what the playlist cannot carry (RFC 8216 4.3.4).
func (m MasterPlaylist) validate() error {
	if m.Version < 1 {
		return fmt.Errorf("HLS master playlist version %d", m.Version)
	}
	if len(m.Variants) == 0 {
		return errors.New("HLS master playlist has no variants")
	}
	type member struct{ group, name string }
	names, defaults, groups := map[member]bool{}, map[string]bool{}, map[string]bool{}
	for _, a := range m.Audio {
		for _, q := range []struct{ attr, v string }{{"GROUP-ID", a.GroupID}, {"NAME", a.Name}, {"URI", a.URI}} {
			if q.v == "" {
				return fmt.Errorf("HLS audio rendition %q has no %s", a.Name, q.attr)
			}
			if err := checkQuoted("EXT-X-MEDIA "+q.attr, q.v); err != nil {
				return err
			}
		}
		if a.Language != "" && !languageTag.MatchString(a.Language) {
			return fmt.Errorf("HLS audio rendition %q: LANGUAGE %q is not an RFC 5646 tag", a.Name, a.Language)
		}
		if a.Channels < 0 {
			return fmt.Errorf("HLS audio rendition %q: %d channels", a.Name, a.Channels)
		}
		if names[member{a.GroupID, a.Name}] {
			return fmt.Errorf("HLS audio group %q has two renditions named %q", a.GroupID, a.Name)
		}
		names[member{a.GroupID, a.Name}] = true
		if a.Default && defaults[a.GroupID] {
			return fmt.Errorf("HLS audio group %q has more than one DEFAULT rendition", a.GroupID)
		}
		defaults[a.GroupID] = defaults[a.GroupID] || a.Default
		groups[a.GroupID] = true
	}
	for _, v := range m.Variants {
		if err := checkURILine(v.URI); err != nil {
			return fmt.Errorf("HLS variant: %w", err)
		}
		if v.Bandwidth <= 0 || v.AverageBandwidth < 0 || v.Width <= 0 || v.Height <= 0 {
			return fmt.Errorf("HLS variant %s: BANDWIDTH %d, AVERAGE-BANDWIDTH %d, RESOLUTION %dx%d", v.URI, v.Bandwidth, v.AverageBandwidth, v.Width, v.Height)
		}
		if !(v.FrameRate >= 0.001 && v.FrameRate <= 1000) { // FRAME-RATE is written to the millisecond
			return fmt.Errorf("HLS variant %s: FRAME-RATE %v", v.URI, v.FrameRate)
		}
		if err := checkCodecs(v.Codecs); err != nil {
			return fmt.Errorf("HLS variant %s: %w", v.URI, err)
		}
		if v.AudioGroup != "" && !groups[v.AudioGroup] {
			return fmt.Errorf("HLS variant %s names audio group %q, which the playlist does not have", v.URI, v.AudioGroup)
		}
	}
	for _, f := range m.IFrames {
		if err := checkQuoted("EXT-X-I-FRAME-STREAM-INF URI", f.URI); err != nil {
			return err
		}
		if f.URI == "" || f.Bandwidth <= 0 || f.Width <= 0 || f.Height <= 0 {
			return fmt.Errorf("HLS I-frame variant %q: BANDWIDTH %d, RESOLUTION %dx%d", f.URI, f.Bandwidth, f.Width, f.Height)
		}
		if err := checkCodecs(f.Codecs); err != nil {
			return fmt.Errorf("HLS I-frame variant %s: %w", f.URI, err)
		}
	}
	return nil
}

// Render writes the playlist, or says why it cannot.
func (m MasterPlaylist) Render() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", m.Version)
	for _, a := range m.Audio {
		attrs := []string{"TYPE=AUDIO", "GROUP-ID=" + quoted(a.GroupID), "NAME=" + quoted(a.Name)}
		if a.Language != "" {
			attrs = append(attrs, "LANGUAGE="+quoted(a.Language))
		}
		attrs = append(attrs, "DEFAULT="+yesNo(a.Default), "AUTOSELECT=YES")
		if a.Channels > 0 {
			attrs = append(attrs, "CHANNELS="+quoted(strconv.Itoa(a.Channels)))
		}
		attrs = append(attrs, "URI="+quoted(a.URI))
		fmt.Fprintf(&b, "#EXT-X-MEDIA:%s\n", strings.Join(attrs, ","))
	}
	for _, v := range m.Variants {
		attrs := []string{
			fmt.Sprintf("BANDWIDTH=%d", v.Bandwidth),
			fmt.Sprintf("AVERAGE-BANDWIDTH=%d", v.AverageBandwidth),
			"CODECS=" + quoted(v.Codecs),
			fmt.Sprintf("RESOLUTION=%dx%d", v.Width, v.Height),
			fmt.Sprintf("FRAME-RATE=%.3f", v.FrameRate),
		}
		if v.AudioGroup != "" {
			attrs = append(attrs, "AUDIO="+quoted(v.AudioGroup))
		}
		attrs = append(attrs, "CLOSED-CAPTIONS=NONE")
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:%s\n%s\n", strings.Join(attrs, ","), v.URI)
	}
	for _, f := range m.IFrames {
		fmt.Fprintf(&b, "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=%d,CODECS=%s,RESOLUTION=%dx%d,URI=%s\n",
			f.Bandwidth, quoted(f.Codecs), f.Width, f.Height, quoted(f.URI))
	}
	return b.Bytes(), nil
}

// quoted writes an HLS quoted-string. It has no escapes (RFC 8216 4.2), so
// checkQuoted must have accepted s: Go's %q or strconv.Quote would write
// backslash escapes that players take literally.
func quoted(s string) string { return `"` + s + `"` }

// checkQuoted accepts what an HLS quoted-string can hold: UTF-8 without
// double quotes and without control characters, which a playlist may not
// contain at all (RFC 8216 4.1).
func checkQuoted(what, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, '"') || strings.IndexFunc(s, isControl) >= 0 {
		return fmt.Errorf("%s %q: a quoted HLS attribute cannot hold double quotes, control characters or invalid UTF-8", what, s)
	}
	return nil
}

// checkURILine accepts a URI for a line of its own: not empty, not taken
// for a tag or comment, no control characters (a newline would start a new
// line), no surrounding blanks that readers strip.
func checkURILine(uri string) error {
	switch {
	case uri == "":
		return errors.New("empty URI")
	case strings.HasPrefix(uri, "#"):
		return fmt.Errorf("URI %q starts with '#', which reads as a tag", uri)
	case !utf8.ValidString(uri) || strings.IndexFunc(uri, isControl) >= 0:
		return fmt.Errorf("URI %q holds control characters or invalid UTF-8", uri)
	case strings.TrimSpace(uri) != uri:
		return fmt.Errorf("URI %q starts or ends with blanks", uri)
	}
	return nil
}

// isControl covers the characters RFC 8216 4.1 bars from a playlist: C0
// and C1 controls (line breaks only end lines), and the UTF-8 decoding
// error marker.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == utf8.RuneError || r == 0xfeff
}

// codecsList is RFC 6381's CODECS value as players read it: comma-separated
// codec tags of letters, digits, '.', '-', '+' and '_'.
var codecsList = regexp.MustCompile(`^[A-Za-z0-9.+_-]+(,[A-Za-z0-9.+_-]+)*$`)

func checkCodecs(c string) error {
	if !codecsList.MatchString(c) {
		return fmt.Errorf("CODECS %q is not a comma-separated list of codec tags", c)
	}
	return nil
}

func yesNo(v bool) string {
	if v {
		return "YES"
	}
	return "NO"
}

// formatSeconds writes a duration with millisecond precision, as EXTINF and
// the manifests carry it.
func formatSeconds(s float64) string {
	return strconv.FormatFloat(roundMillis(s), 'f', 3, 64)
}

// roundMillis is a duration as formatSeconds writes it.
func roundMillis(s float64) float64 { return math.Round(s*1000) / 1000 }

// PeakBitrate is RFC 8216's peak segment bit rate: the largest bit rate of
// any run of consecutive segments lasting 0.5 to 1.5 times the target
// duration. A rendition too short for any such run is measured whole.
func PeakBitrate(sizes []int64, durations []float64, target float64) int64 {
	var peak float64
	for i := range sizes {
		var bits, secs float64
		for j := i; j < len(sizes); j++ {
			bits += float64(sizes[j] * 8)
			secs += durations[j]
			if secs > 1.5*target {
				break
			}
			if secs >= 0.5*target && secs > 0 {
				peak = math.Max(peak, bits/secs)
			}
		}
	}
	if peak == 0 {
		return AverageBitrate(sizes, durations)
	}
	return int64(math.Ceil(peak))
}

// AverageBitrate is the total size over the total duration.
func AverageBitrate(sizes []int64, durations []float64) int64 {
	var bits, secs float64
	for i := range sizes {
		bits += float64(sizes[i] * 8)
		secs += durations[i]
	}
	if secs <= 0 {
		return 0
	}
	return int64(math.Ceil(bits / secs))
}

package packaging

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"kiln/sdi"
)

// DASHRepresentation is one CMAF track as the MPD describes it.
type DASHRepresentation struct {
	ID        string
	Bandwidth int64 // bit/s: the peak segment bit rate
	Codecs    string
	// Video.
	Width, Height int
	FrameRate     sdi.Rational
	SAR           sdi.Rational
	// Audio.
	SampleRate, Channels int
	// Where the track lives, relative to the MPD: Dir/init.mp4 and
	// Dir/seg-NNNNN.m4s.
	Dir       string
	Timescale uint32
	Segments  []Segment
}

// DASHAdaptationSet groups the representations a player switches between.
type DASHAdaptationSet struct {
	ContentType string // video | audio
	Language    string // RFC 5646; "" leaves lang out
	Reps        []DASHRepresentation
}

// DASHManifest is a static (on-demand) MPD whose representations address
// their segments with SegmentTemplate and SegmentTimeline, so that exact
// segment durations survive (the last segment is shorter, and NTSC rates do
// not divide evenly).
type DASHManifest struct {
	Duration      float64 // seconds
	MinBufferTime float64 // seconds
	Sets          []DASHAdaptationSet
}

type mpdXML struct {
	XMLName                   xml.Name  `xml:"MPD"`
	Xmlns                     string    `xml:"xmlns,attr"`
	Profiles                  string    `xml:"profiles,attr"`
	Type                      string    `xml:"type,attr"`
	MediaPresentationDuration string    `xml:"mediaPresentationDuration,attr"`
	MaxSegmentDuration        string    `xml:"maxSegmentDuration,attr"`
	MinBufferTime             string    `xml:"minBufferTime,attr"`
	Period                    periodXML `xml:"Period"`
}

type periodXML struct {
	ID    string     `xml:"id,attr"`
	Start string     `xml:"start,attr"`
	Sets  []adaptXML `xml:"AdaptationSet"`
}

type adaptXML struct {
	ID               int      `xml:"id,attr"`
	ContentType      string   `xml:"contentType,attr"`
	MimeType         string   `xml:"mimeType,attr"`
	Lang             string   `xml:"lang,attr,omitempty"`
	SegmentAlignment bool     `xml:"segmentAlignment,attr"`
	StartWithSAP     int      `xml:"startWithSAP,attr"`
	MaxWidth         int      `xml:"maxWidth,attr,omitempty"`
	MaxHeight        int      `xml:"maxHeight,attr,omitempty"`
	Par              string   `xml:"par,attr,omitempty"`
	Role             *roleXML `xml:"Role"`
	Reps             []repXML `xml:"Representation"`
}

type roleXML struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	Value       string `xml:"value,attr"`
}

type repXML struct {
	ID                string            `xml:"id,attr"`
	Bandwidth         int64             `xml:"bandwidth,attr"`
	Codecs            string            `xml:"codecs,attr"`
	Width             int               `xml:"width,attr,omitempty"`
	Height            int               `xml:"height,attr,omitempty"`
	FrameRate         string            `xml:"frameRate,attr,omitempty"`
	SAR               string            `xml:"sar,attr,omitempty"`
	AudioSamplingRate int               `xml:"audioSamplingRate,attr,omitempty"`
	ChannelConfig     *channelConfigXML `xml:"AudioChannelConfiguration"`
	Template          templateXML       `xml:"SegmentTemplate"`
}

type channelConfigXML struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	Value       int    `xml:"value,attr"`
}

type templateXML struct {
	Timescale      uint32      `xml:"timescale,attr"`
	Initialization string      `xml:"initialization,attr"`
	Media          string      `xml:"media,attr"`
	StartNumber    int         `xml:"startNumber,attr"`
	Timeline       timelineXML `xml:"SegmentTimeline"`
}

type timelineXML struct {
	S []sXML `xml:"S"`
}

type sXML struct {
	T *int64 `xml:"t,attr"`
	D int64  `xml:"d,attr"`
	R int    `xml:"r,attr,omitempty"`
}

// maxPresentationSeconds bounds the MPD's durations: 100 days is more than
// any on-demand presentation, and keeps the millisecond arithmetic exact.
const maxPresentationSeconds = 100 * 24 * 3600

// dashDir is a representation's folder as SegmentTemplate carries it:
// relative path segments of characters a URL needs no escaping for. "$"
// in particular would start a template identifier.
var dashDir = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$`)

// validate rejects what the MPD cannot represent, rather than write one a
// player misreads.
func (m DASHManifest) validate() error {
	for _, d := range []struct {
		what string
		v    float64
	}{{"duration", m.Duration}, {"minimum buffer time", m.MinBufferTime}} {
		if !(d.v >= 0 && d.v <= maxPresentationSeconds) {
			return fmt.Errorf("DASH %s %v s is out of range", d.what, d.v)
		}
	}
	if len(m.Sets) == 0 {
		return errors.New("DASH manifest has no adaptation sets")
	}
	ids := map[string]bool{}
	for _, set := range m.Sets {
		if set.ContentType != "video" && set.ContentType != "audio" {
			return fmt.Errorf("DASH adaptation set of content type %q; Kiln writes video and audio", set.ContentType)
		}
		if set.Language != "" && !languageTag.MatchString(set.Language) {
			return fmt.Errorf("DASH %s adaptation set: lang %q is not an RFC 5646 tag", set.ContentType, set.Language)
		}
		if len(set.Reps) == 0 {
			return fmt.Errorf("DASH %s adaptation set has no representations", set.ContentType)
		}
		for _, r := range set.Reps {
			if err := r.validate(set.ContentType); err != nil {
				return err
			}
			if ids[r.ID] {
				return fmt.Errorf("DASH has two representations with id %q", r.ID)
			}
			ids[r.ID] = true
		}
	}
	return nil
}

func (r DASHRepresentation) validate(contentType string) error {
	// ISO/IEC 23009-1 5.3.5.2: an id without whitespace; XML cannot
	// carry control characters.
	if r.ID == "" || !utf8.ValidString(r.ID) || strings.IndexFunc(r.ID, func(c rune) bool { return unicode.IsSpace(c) || isControl(c) }) >= 0 {
		return fmt.Errorf("DASH representation id %q: it must be non-empty UTF-8 without blanks or control characters", r.ID)
	}
	if r.Bandwidth <= 0 {
		return fmt.Errorf("DASH representation %s: bandwidth %d", r.ID, r.Bandwidth)
	}
	if err := checkCodecs(r.Codecs); err != nil {
		return fmt.Errorf("DASH representation %s: %w", r.ID, err)
	}
	switch contentType {
	case "video":
		if r.Width <= 0 || r.Height <= 0 || r.FrameRate.Num <= 0 || r.FrameRate.Den <= 0 || r.SAR.Num < 0 || (r.SAR.Num > 0 && r.SAR.Den <= 0) {
			return fmt.Errorf("DASH representation %s: %dx%d at %d/%d frames per second, SAR %d:%d", r.ID, r.Width, r.Height,
				r.FrameRate.Num, r.FrameRate.Den, r.SAR.Num, r.SAR.Den)
		}
	case "audio":
		if r.SampleRate <= 0 || r.Channels <= 0 {
			return fmt.Errorf("DASH representation %s: %d Hz, %d channels", r.ID, r.SampleRate, r.Channels)
		}
	}
	if !dashDir.MatchString(r.Dir) || strings.Contains("/"+r.Dir+"/", "/../") {
		return fmt.Errorf("DASH representation %s: folder %q; use a relative path of letters, digits, '.', '_' and '-'", r.ID, r.Dir)
	}
	if r.Timescale == 0 {
		return fmt.Errorf("DASH representation %s: timescale 0", r.ID)
	}
	if len(r.Segments) == 0 {
		return fmt.Errorf("DASH representation %s has no segments", r.ID)
	}
	var end int64
	for i, seg := range r.Segments {
		if seg.Start < 0 || seg.Duration <= 0 || seg.Start > math.MaxInt64-seg.Duration {
			return fmt.Errorf("DASH representation %s segment %d: start %d, duration %d", r.ID, i+1, seg.Start, seg.Duration)
		}
		if i > 0 && seg.Start < end {
			return fmt.Errorf("DASH representation %s segment %d starts at %d, before segment %d ends at %d", r.ID, i+1, seg.Start, i, end)
		}
		end = seg.Start + seg.Duration
	}
	return nil
}

// Render writes the MPD, or says why it cannot.
func (m DASHManifest) Render() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	doc := mpdXML{
		Xmlns:                     "urn:mpeg:dash:schema:mpd:2011",
		Profiles:                  "urn:mpeg:dash:profile:isoff-live:2011",
		Type:                      "static",
		MediaPresentationDuration: isoDuration(m.Duration),
		MinBufferTime:             isoDuration(m.MinBufferTime),
		Period:                    periodXML{ID: "0", Start: "PT0S"},
	}
	var maxSeg float64
	for i, set := range m.Sets {
		a := adaptXML{ID: i, ContentType: set.ContentType, MimeType: set.ContentType + "/mp4", Lang: set.Language,
			SegmentAlignment: true, StartWithSAP: 1}
		if set.ContentType == "audio" && i == firstAudioSet(m.Sets) {
			a.Role = &roleXML{SchemeIDURI: "urn:mpeg:dash:role:2011", Value: "main"}
		}
		for _, r := range set.Reps {
			rep := repXML{ID: r.ID, Bandwidth: r.Bandwidth, Codecs: r.Codecs}
			if set.ContentType == "video" {
				rep.Width, rep.Height = r.Width, r.Height
				rep.FrameRate = rateAttr(r.FrameRate)
				if r.SAR.Num > 0 {
					rep.SAR = fmt.Sprintf("%d:%d", r.SAR.Num, r.SAR.Den)
				}
				a.MaxWidth, a.MaxHeight = max(a.MaxWidth, r.Width), max(a.MaxHeight, r.Height)
				a.Par = aspectAttr(r.Width, r.Height, r.SAR)
			} else {
				rep.AudioSamplingRate = r.SampleRate
				rep.ChannelConfig = &channelConfigXML{SchemeIDURI: "urn:mpeg:dash:23003:3:audio_channel_configuration:2011", Value: r.Channels}
			}
			rep.Template = templateXML{Timescale: r.Timescale, Initialization: r.Dir + "/" + CMAFInit,
				Media: r.Dir + "/" + CMAFSegmentTemplate, StartNumber: 1, Timeline: timeline(r.Segments)}
			for _, s := range r.Segments {
				maxSeg = math.Max(maxSeg, float64(s.Duration)/float64(r.Timescale))
			}
			a.Reps = append(a.Reps, rep)
		}
		doc.Period.Sets = append(doc.Period.Sets, a)
	}
	doc.MaxSegmentDuration = isoDuration(maxSeg)
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing the MPD: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

func firstAudioSet(sets []DASHAdaptationSet) int {
	for i, s := range sets {
		if s.ContentType == "audio" {
			return i
		}
	}
	return -1
}

// timeline run-length codes segment durations: one S per run of equal,
// back-to-back segments.
func timeline(segs []Segment) timelineXML {
	var tl timelineXML
	var next int64
	for i, s := range segs {
		if n := len(tl.S); n > 0 && s.Start == next && tl.S[n-1].D == s.Duration {
			tl.S[n-1].R++
		} else {
			e := sXML{D: s.Duration}
			if i == 0 || s.Start != next {
				t := s.Start
				e.T = &t
			}
			tl.S = append(tl.S, e)
		}
		next = s.Start + s.Duration
	}
	return tl
}

// isoDuration writes seconds as an xs:duration (PT1M2.345S).
func isoDuration(s float64) string {
	ms := int64(math.Round(s * 1000))
	h, ms := ms/3_600_000, ms%3_600_000
	m, ms := ms/60_000, ms%60_000
	var b strings.Builder
	b.WriteString("PT")
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	fmt.Fprintf(&b, "%d.%03dS", ms/1000, ms%1000)
	return b.String()
}

func rateAttr(r sdi.Rational) string {
	if r.Den == 1 {
		return fmt.Sprint(r.Num)
	}
	return fmt.Sprintf("%d/%d", r.Num, r.Den)
}

// aspectAttr is the picture aspect ratio (par) of a representation.
func aspectAttr(w, h int, sar sdi.Rational) string {
	if sar.Num <= 0 || sar.Den <= 0 {
		sar = sdi.Rational{Num: 1, Den: 1}
	}
	n, d := w*sar.Num, h*sar.Den
	g := gcd(n, d)
	if g == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d", n/g, d/g)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

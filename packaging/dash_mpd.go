package packaging

import (
	"encoding/xml"
	"fmt"
	"math"
	"strings"

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

// Render writes the MPD.
func (m DASHManifest) Render() ([]byte, error) {
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
			if len(r.Segments) == 0 {
				return nil, fmt.Errorf("DASH representation %s has no segments", r.ID)
			}
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

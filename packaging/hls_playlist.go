package packaging

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
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

// TargetDuration is the longest segment, rounded to the nearest second as
// RFC 8216 4.3.3.1 compares it, and at least 1.
func (p MediaPlaylist) TargetDuration() int {
	t := 1
	for _, e := range p.Entries {
		t = max(t, int(math.Round(e.Duration)))
	}
	return t
}

// Render writes the playlist.
func (p MediaPlaylist) Render() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n", p.Version)
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", p.TargetDuration())
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	if p.IFramesOnly {
		b.WriteString("#EXT-X-I-FRAMES-ONLY\n")
	}
	if p.MapURI != "" {
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q\n", p.MapURI)
	}
	var key *Key
	for _, e := range p.Entries {
		if e.Key != key {
			key = e.Key
			if key == nil {
				b.WriteString("#EXT-X-KEY:METHOD=NONE\n")
			} else {
				fmt.Fprintf(&b, "#EXT-X-KEY:METHOD=AES-128,URI=%q,IV=0x%X\n", key.URI, key.IV[:])
			}
		}
		fmt.Fprintf(&b, "#EXTINF:%s,\n", formatSeconds(e.Duration))
		if e.ByteRange != nil {
			fmt.Fprintf(&b, "#EXT-X-BYTERANGE:%d@%d\n", e.ByteRange.Length, e.ByteRange.Offset)
		}
		b.WriteString(e.URI + "\n")
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.Bytes()
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

// Render writes the playlist.
func (m MasterPlaylist) Render() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", m.Version)
	for _, a := range m.Audio {
		attrs := []string{"TYPE=AUDIO", "GROUP-ID=" + strconv.Quote(a.GroupID), "NAME=" + strconv.Quote(a.Name)}
		if a.Language != "" {
			attrs = append(attrs, "LANGUAGE="+strconv.Quote(a.Language))
		}
		attrs = append(attrs, "DEFAULT="+yesNo(a.Default), "AUTOSELECT=YES")
		if a.Channels > 0 {
			attrs = append(attrs, "CHANNELS="+strconv.Quote(strconv.Itoa(a.Channels)))
		}
		attrs = append(attrs, "URI="+strconv.Quote(a.URI))
		fmt.Fprintf(&b, "#EXT-X-MEDIA:%s\n", strings.Join(attrs, ","))
	}
	for _, v := range m.Variants {
		attrs := []string{
			fmt.Sprintf("BANDWIDTH=%d", v.Bandwidth),
			fmt.Sprintf("AVERAGE-BANDWIDTH=%d", v.AverageBandwidth),
			"CODECS=" + strconv.Quote(v.Codecs),
			fmt.Sprintf("RESOLUTION=%dx%d", v.Width, v.Height),
			fmt.Sprintf("FRAME-RATE=%.3f", v.FrameRate),
		}
		if v.AudioGroup != "" {
			attrs = append(attrs, "AUDIO="+strconv.Quote(v.AudioGroup))
		}
		attrs = append(attrs, "CLOSED-CAPTIONS=NONE")
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:%s\n%s\n", strings.Join(attrs, ","), v.URI)
	}
	for _, f := range m.IFrames {
		fmt.Fprintf(&b, "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=%d,CODECS=%q,RESOLUTION=%dx%d,URI=%q\n",
			f.Bandwidth, f.Codecs, f.Width, f.Height, f.URI)
	}
	return b.Bytes()
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
	return strconv.FormatFloat(math.Round(s*1000)/1000, 'f', 3, 64)
}

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

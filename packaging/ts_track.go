package packaging

import (
	"fmt"
	"os"
	"path/filepath"
)

// TSTimescale is the MPEG-TS clock: every time a TSTrack takes is in it.
const TSTimescale = 90000

// TSSegment is one MPEG-TS segment a TSTrack wrote.
type TSSegment struct {
	Segment
	Key *Key // nil when the segment is clear
}

// TSTrack writes one rendition's MPEG-TS segments, seg-NNNNN.ts, encrypting
// each with AES-128 when it has a key schedule. It locates every video
// keyframe in the clear bytes first, for the I-frame playlist (which only a
// clear rendition gets: AES-128 encrypts whole segments, and a byte range
// inside one cannot be decrypted on its own).
type TSTrack struct {
	dir  string
	keys *KeySchedule
	segs []TSSegment
}

const tsSegmentFormat = "seg-%05d.ts"

// NewTSTrack writes into dir, which must exist. keys is nil for a clear
// rendition.
func NewTSTrack(dir string, keys *KeySchedule) *TSTrack {
	return &TSTrack{dir: dir, keys: keys}
}

// AddSegment writes the next segment. start is its earliest presentation
// time and keyTimes the presentation times of the video keyframes in it, in
// order (none for audio), all in TSTimescale ticks.
func (t *TSTrack) AddSegment(data []byte, start int64, keyTimes []int64) error {
	if len(data) == 0 {
		return fmt.Errorf("MPEG-TS segment %d is empty", len(t.segs)+1)
	}
	seg := TSSegment{Segment: Segment{Number: len(t.segs) + 1, Start: start}}
	seg.URI = fmt.Sprintf(tsSegmentFormat, seg.Number)
	if len(keyTimes) > 0 {
		ranges, err := tsKeyframeRanges(data)
		if err != nil {
			return fmt.Errorf("MPEG-TS segment %d: %w", seg.Number, err)
		}
		if len(ranges) != len(keyTimes) {
			return fmt.Errorf("MPEG-TS segment %d holds %d keyframes, but %d were muxed into it", seg.Number, len(ranges), len(keyTimes))
		}
		for i, r := range ranges {
			seg.Keyframes = append(seg.Keyframes, Keyframe{Offset: r.Offset, Length: r.Length, Time: keyTimes[i]})
		}
	}
	if t.keys != nil {
		k, err := t.keys.ForSegment(seg.Number)
		if err != nil {
			return err
		}
		seg.Key = k
		data = EncryptSegment(k, data)
	}
	seg.Size = int64(len(data))
	if err := os.WriteFile(filepath.Join(t.dir, seg.URI), data, 0o644); err != nil {
		return fmt.Errorf("writing MPEG-TS segment: %w", err)
	}
	if n := len(t.segs); n > 0 {
		t.closeSegment(&t.segs[n-1], start)
	}
	t.segs = append(t.segs, seg)
	return nil
}

// Finish sets the last segment's end: the presentation end of the track.
func (t *TSTrack) Finish(end int64) error {
	if len(t.segs) == 0 {
		return fmt.Errorf("MPEG-TS track %s received no segments", t.dir)
	}
	t.closeSegment(&t.segs[len(t.segs)-1], end)
	return nil
}

func (t *TSTrack) closeSegment(s *TSSegment, end int64) {
	s.Duration = end - s.Start
	for i := range s.Keyframes {
		next := end
		if i+1 < len(s.Keyframes) {
			next = s.Keyframes[i+1].Time
		}
		s.Keyframes[i].Duration = next - s.Keyframes[i].Time
	}
}

// Segments lists what the track wrote.
func (t *TSTrack) Segments() []TSSegment { return t.segs }

// Encrypted reports whether the track's segments are AES-128 encrypted.
func (t *TSTrack) Encrypted() bool { return t.keys != nil }

const tsPacket = 188

// tsKeyframeRanges finds each video keyframe of an MPEG-TS segment: from the
// PAT and PMT right before its PES packet (a player needs them to demux
// it) to the start of the next video PES packet. libav's muxer flags a
// keyframe's first TS packet with random_access_indicator and sends PAT and
// PMT just before it.
func tsKeyframeRanges(data []byte) ([]ByteRange, error) {
	if len(data)%tsPacket != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of TS packets", len(data))
	}
	n := len(data) / tsPacket
	pmtPID, videoPID := -1, -1
	type start struct {
		packet int
		key    bool
	}
	var starts []start
	for i := 0; i < n; i++ {
		p := data[i*tsPacket : (i+1)*tsPacket]
		if p[0] != 0x47 {
			return nil, fmt.Errorf("TS packet %d has no sync byte", i)
		}
		pid := int(p[1]&0x1f)<<8 | int(p[2])
		pusi := p[1]&0x40 != 0
		afc := (p[3] >> 4) & 3
		payload := 4
		rai := false
		if afc&2 != 0 {
			afLen := int(p[4])
			if afLen > 0 {
				rai = p[5]&0x40 != 0
			}
			payload = 5 + afLen
		}
		if afc&1 == 0 || payload >= tsPacket {
			continue
		}
		switch {
		case pid == 0 && pusi && pmtPID < 0:
			pmtPID = patProgramMapPID(p[payload:])
		case pid == pmtPID && pusi && videoPID < 0:
			videoPID = pmtVideoPID(p[payload:])
		case pid == videoPID && pusi:
			starts = append(starts, start{packet: i, key: rai})
		}
	}
	if videoPID < 0 {
		return nil, fmt.Errorf("no H.264 stream in the segment's PMT")
	}
	var ranges []ByteRange
	for k, s := range starts {
		if !s.key {
			continue
		}
		first := s.packet
		for first > 0 {
			pid := int(data[(first-1)*tsPacket+1]&0x1f)<<8 | int(data[(first-1)*tsPacket+2])
			if pid != 0 && pid != pmtPID {
				break
			}
			first--
		}
		end := n
		if k+1 < len(starts) {
			end = starts[k+1].packet
		}
		ranges = append(ranges, ByteRange{Offset: int64(first * tsPacket), Length: int64((end - first) * tsPacket)})
	}
	return ranges, nil
}

// patProgramMapPID reads the first program's PMT PID from a PAT section.
func patProgramMapPID(b []byte) int {
	if len(b) < 1 || 1+int(b[0]) > len(b) {
		return -1
	}
	b = b[1+int(b[0]):] // pointer field
	if len(b) < 16 || b[0] != 0x00 {
		return -1
	}
	for p := 8; p+4 <= len(b)-4; p += 4 {
		program := int(b[p])<<8 | int(b[p+1])
		if program != 0 {
			return int(b[p+2]&0x1f)<<8 | int(b[p+3])
		}
	}
	return -1
}

// pmtVideoPID reads the PID of the first H.264 stream (stream_type 0x1b)
// from a PMT section.
func pmtVideoPID(b []byte) int {
	if len(b) < 1 || 1+int(b[0]) > len(b) {
		return -1
	}
	b = b[1+int(b[0]):]
	if len(b) < 12 || b[0] != 0x02 {
		return -1
	}
	sectionLen := int(b[1]&0x0f)<<8 | int(b[2])
	end := min(3+sectionLen-4, len(b))
	infoLen := int(b[10]&0x0f)<<8 | int(b[11])
	for p := 12 + infoLen; p+5 <= end; {
		streamType := b[p]
		pid := int(b[p+1]&0x1f)<<8 | int(b[p+2])
		esInfo := int(b[p+3]&0x0f)<<8 | int(b[p+4])
		if streamType == 0x1b {
			return pid
		}
		p += 5 + esInfo
	}
	return -1
}

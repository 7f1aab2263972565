package pipeline

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// pcrRate is what a transport stream's program clock references say about
// its rate: in a constant-rate stream the bytes between any two PCRs, over
// the time between them, are the mux rate.
type pcrRate struct {
	overall   float64 // b/s from the first PCR to the last
	low, high float64 // the slowest and fastest between consecutive PCRs
	pcrs      int
	// late is how long after its decode time (DTS) the last byte of the
	// latest video picture arrives, in seconds, with the PCRs as the
	// clock (negative: every picture is in early, by at least that much).
	// A decoder that follows the T-STD model (ISO/IEC 13818-1 2.4.2)
	// decodes each picture at its DTS: one that arrives later underflows
	// a hardware decoder's buffer, though software players wait for it.
	late        float64
	latePicture int // which picture (1 = first in the file) is latest
	pictures    int // video PES packets read
	// fullest is the most video the decoder's buffer holds at once, in
	// bits, when every picture's data arrives as the PCRs time it and
	// leaves at its decode time: more than the encoder's VBV buffer
	// overflows the decoder (MPEG-2 MP@ML's is 1835008 bits).
	fullest int64
}

// readPCRRate reads the PCRs of the first PID that carries them in the TS
// file at path.
func readPCRRate(path string) (pcrRate, error) {
	f, err := os.Open(path)
	if err != nil {
		return pcrRate{}, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	const wrap = int64(1) << 33 * 300 // 27 MHz ticks
	var (
		pictures            []videoPES
		videoPID            = -1
		pkt                 [188]byte
		rate                = pcrRate{low: math.Inf(1), high: math.Inf(-1)}
		pid                 = -1
		first, last         int64 // 27 MHz, unwrapped
		firstAt, lastAt, at int64 // packet numbers
	)
	for ; ; at++ {
		if _, err := io.ReadFull(r, pkt[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return pcrRate{}, err
		}
		if pkt[0] != 0x47 {
			return pcrRate{}, fmt.Errorf("packet %d has no sync byte", at)
		}
		p := int(pkt[1]&0x1f)<<8 | int(pkt[2])
		if dts, ok := videoPESStart(pkt[:], videoPID < 0 || p == videoPID); ok {
			videoPID = p
			if n := len(pictures); n > 0 {
				for dts < pictures[n-1].dts-1<<32 {
					dts += 1 << 33 // the 33-bit clock wrapped
				}
			}
			pictures = append(pictures, videoPES{lastAt: at, dts: dts})
		}
		if p == videoPID && len(pictures) > 0 && pkt[3]&0x10 != 0 {
			cur := &pictures[len(pictures)-1]
			payload := 184
			if pkt[3]&0x20 != 0 {
				payload -= 1 + int(pkt[4])
			}
			cur.lastAt = at
			cur.bits += int64(max(payload, 0)) * 8
		}
		// An adaptation field with its PCR flag set.
		if pkt[3]&0x20 == 0 || pkt[4] < 7 || pkt[5]&0x10 == 0 || (pid >= 0 && p != pid) {
			continue
		}
		pid = p
		base := int64(pkt[6])<<25 | int64(pkt[7])<<17 | int64(pkt[8])<<9 | int64(pkt[9])<<1 | int64(pkt[10])>>7
		pcr := base*300 + (int64(pkt[10]&1)<<8 | int64(pkt[11]))
		if rate.pcrs > 0 {
			for pcr < last-wrap/2 {
				pcr += wrap
			}
			if pcr <= last {
				return pcrRate{}, fmt.Errorf("PCR at packet %d does not advance", at)
			}
			r := float64((at-lastAt)*188*8) * 27e6 / float64(pcr-last)
			rate.low, rate.high = math.Min(rate.low, r), math.Max(rate.high, r)
		} else {
			first, firstAt = pcr, at
		}
		last, lastAt = pcr, at
		rate.pcrs++
	}
	if rate.pcrs < 2 {
		return pcrRate{}, fmt.Errorf("%d PCRs: too few to measure a rate", rate.pcrs)
	}
	rate.overall = float64((lastAt-firstAt)*188*8) * 27e6 / float64(last-first)
	// A packet's arrival on the constant-rate line the PCRs draw.
	arrival := func(at int64) float64 {
		return (float64(first) + float64(at-firstAt)*float64(last-first)/float64(lastAt-firstAt)) / 27e6
	}
	rate.late, rate.pictures = math.Inf(-1), len(pictures)
	rate.fullest = fullestBuffer(pictures, arrival)
	for i, p := range pictures {
		// The PCR's 33-bit base wraps with the DTS: compare them modulo the
		// wrap, as the decoder's clock does.
		late := math.Remainder(arrival(p.lastAt)-float64(p.dts)/90000, tsClockWrap)
		if late > rate.late {
			rate.late, rate.latePicture = late, i+1
		}
	}
	return rate, nil
}

// videoPES is one picture of a TS's video: the packet that ends it, its
// size and its decode time. Only per picture, not per packet: an hour of
// broadcast video is millions of packets, and the verifier runs in the
// worker under its memory cap.
type videoPES struct {
	lastAt int64
	dts    int64 // 90 kHz, unwrapped
	bits   int64 // its payload
}

// tsClockWrap is the 33-bit 90 kHz clock's period, in seconds.
const tsClockWrap = float64(int64(1)<<33) / 90000

// fullestBuffer plays the pictures through the decoder's buffer: each
// picture is in once its last packet has arrived (on the PCR line) and
// leaves whole at its decode time. It returns the most the buffer held, in
// bits, seen as each picture completes.
func fullestBuffer(pictures []videoPES, arrival func(at int64) float64) int64 {
	if len(pictures) == 0 {
		return 0
	}
	// The decode times' clock and the PCRs' may be a wrap apart.
	first := pictures[0]
	align := math.Round((arrival(first.lastAt)-float64(first.dts)/90000)/tsClockWrap) * tsClockWrap
	var held, fullest int64
	decoded := 0 // pictures are in decode order: the next to leave
	for i, p := range pictures {
		t := arrival(p.lastAt)
		held += p.bits
		for decoded <= i && float64(pictures[decoded].dts)/90000+align <= t {
			held -= pictures[decoded].bits
			decoded++
		}
		fullest = max(fullest, held)
	}
	return fullest
}

// videoPESStart reads the decode time of a video PES (stream_id 0xE0 to
// 0xEF) that starts in TS packet pkt; a PES with a PTS only decodes then.
func videoPESStart(pkt []byte, wanted bool) (dts int64, ok bool) {
	if !wanted || pkt[1]&0x40 == 0 || pkt[3]&0x10 == 0 {
		return 0, false // no payload unit starts here
	}
	at := 4
	if pkt[3]&0x20 != 0 {
		at += 1 + int(pkt[4])
	}
	pes := pkt[min(at, len(pkt)):]
	if len(pes) < 19 || pes[0] != 0 || pes[1] != 0 || pes[2] != 1 || pes[3]&0xf0 != 0xe0 {
		return 0, false
	}
	ts := func(b []byte) int64 {
		return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
	}
	switch pes[7] >> 6 {
	case 2:
		return ts(pes[9:]), true
	case 3:
		return ts(pes[14:]), true
	}
	return 0, false
}

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
	return rate, nil
}

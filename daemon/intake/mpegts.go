package intake

import (
	"encoding/binary"
	"io"
)

// tsLayout is one way of packing MPEG-TS packets into a file.
type tsLayout struct {
	format string
	size   int64 // bytes per packet, prefix included
	sync   int64 // where the 0x47 sync byte sits in a packet
}

// tsLayouts in the order they are tried: plain 188-byte packets, Blu-ray/AVCHD
// M2TS with a 4-byte timestamp before each packet, and 204-byte packets
// carrying 16 Reed-Solomon bytes as some DVB-ASI captures do.
var tsLayouts = []tsLayout{
	{format: "MPEG-TS", size: 188, sync: 0},
	{format: "M2TS", size: 192, sync: 4},
	{format: "MPEG-TS", size: 204, sync: 0},
}

const tsSync = 0x47

// detectTS needs the sync byte in two consecutive packets (three when the
// file is long enough): a single 0x47 is also how a GIF, among others, starts.
func detectTS(head []byte, size int64) (tsLayout, bool) {
next:
	for _, l := range tsLayouts {
		if size <= l.size+l.sync {
			continue
		}
		for k := int64(0); k < 3; k++ {
			at := k*l.size + l.sync
			if at >= int64(len(head)) {
				if k < 2 {
					continue next
				}
				break
			}
			if head[at] != tsSync {
				continue next
			}
		}
		return l, true
	}
	return tsLayout{}, false
}

// checkTS: a copy in progress almost always stops inside a packet.
func checkTS(r io.ReaderAt, size int64, l tsLayout) (Completeness, error) {
	if size%l.size != 0 {
		prefix := "TS"
		if l.format == "M2TS" {
			prefix = "M2TS"
		}
		return incomplete(l.format, "%s size %d is not a multiple of %d bytes: the last packet is cut short", prefix, size, l.size), nil
	}
	b, err := readAt(r, size-l.size+l.sync, 1)
	if err != nil {
		return Completeness{}, err
	}
	if b[0] != tsSync {
		return incomplete(l.format, "the last %d-byte TS packet does not start with the sync byte 0x47 (found 0x%02x)", l.size, b[0]), nil
	}
	return checkLastPES(r, size, l)
}

// tsTailWindow is how much of the end of a TS checkLastPES reads: more
// than the longest PES packet whose length is stated (65541 bytes, spread
// over some 360 TS packets).
const tsTailWindow = 512 << 10

// checkLastPES: a writer that appends whole TS packets in bursts (a
// segmenter, a capture that flushes every so often) leaves a file that ends on
// a packet boundary between bursts. What gives it away is the last PES packet
// of a stream that states its length (audio always, video often): fewer
// bytes follow its header than it announces. A stream whose last PES states
// no length (video may leave it 0) cannot be judged here; the watch folder
// asks a TS to stay unchanged for a second settle for that reason.
func checkLastPES(r io.ReaderAt, size int64, l tsLayout) (Completeness, error) {
	window := min(size, tsTailWindow/l.size*l.size)
	buf, err := readAt(r, size-window, window)
	if err != nil {
		return Completeness{}, err
	}
	type pidState struct {
		after int64 // payload bytes of this PID after its last PES start
		done  bool  // its last PES start was found and judged
	}
	pids := map[uint16]*pidState{}
	for off := window - l.size; off >= 0; off -= l.size {
		pkt := buf[off+l.sync : off+l.sync+188]
		if pkt[0] != tsSync {
			break // lost sync: what came before is not ours to judge
		}
		pid := uint16(pkt[1]&0x1f)<<8 | uint16(pkt[2])
		if pid == 0x1fff {
			continue // null packets
		}
		st := pids[pid]
		if st == nil {
			st = &pidState{}
			pids[pid] = st
		}
		if st.done {
			continue
		}
		payload := tsPayload(pkt)
		if pkt[1]&0x40 == 0 { // no payload_unit_start_indicator
			st.after += int64(len(payload))
			continue
		}
		st.done = true
		if len(payload) < 6 || payload[0] != 0 || payload[1] != 0 || payload[2] != 1 {
			continue // a PSI section (PAT, PMT), not a PES
		}
		stated := int64(binary.BigEndian.Uint16(payload[4:6]))
		if stated == 0 {
			continue // unbounded: see above
		}
		need, have := 6+stated, int64(len(payload))+st.after
		if have < need {
			return incomplete(l.format, "the last PES packet of PID %d (stream 0x%02x) is cut short: %d of its %d bytes are there; the file is still being written or was cut",
				pid, payload[3], have, need), nil
		}
	}
	return Completeness{Complete: true, Format: l.format}, nil
}

// tsPayload is the payload of one 188-byte TS packet, after its header and
// adaptation field.
func tsPayload(pkt []byte) []byte {
	afc := pkt[3] >> 4 & 0x3
	switch afc {
	case 1:
		return pkt[4:]
	case 3:
		start := 5 + int(pkt[4])
		if start >= len(pkt) {
			return nil
		}
		return pkt[start:]
	}
	return nil // adaptation field only, or reserved
}

package intake

import (
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
	return Completeness{Complete: true, Format: l.format}, nil
}

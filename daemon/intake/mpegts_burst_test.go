package intake

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

// Issue 21, item 5: a TS written in bursts of whole packets ends on a packet
// boundary between bursts, which the packet check alone took for a whole
// file. Cut at the packet after the start of a PES packet that states its
// length (the audio), the file must be reported incomplete, naming the PES.
func TestCheckCompleteTSCutInsideLastPES(t *testing.T) {
	ts := ffmpegFile(t, "burst.ts", "-f", "lavfi", "-i", "sine=d=2:sample_rate=48000",
		"-c:v", "mpeg2video", "-q:v", "3", "-c:a", "mp2", "-b:a", "192k", "-f", "mpegts")
	whole, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := CheckComplete(ts); err != nil || !c.Complete {
		t.Fatalf("the whole TS: %+v, %v; want complete", c, err)
	}

	// Every packet that starts a bounded PES spread over several packets is
	// a place a burst can end; try each, cutting right after that packet.
	tried, caught := 0, 0
	for off := 0; off+188 <= len(whole); off += 188 {
		pkt := whole[off : off+188]
		if pkt[1]&0x40 == 0 {
			continue
		}
		payload := tsPayload(pkt)
		if len(payload) < 6 || !bytes.Equal(payload[:3], []byte{0, 0, 1}) {
			continue
		}
		stated := int(binary.BigEndian.Uint16(payload[4:6]))
		if stated == 0 || 6+stated <= len(payload) {
			continue
		}
		tried++
		path := t.TempDir() + "/cut.ts"
		os.WriteFile(path, whole[:off+188], 0o644)
		c, err := CheckComplete(path)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Complete && strings.Contains(c.Reason, "last PES packet of PID") {
			caught++
		} else if tried <= 3 {
			t.Errorf("cut after the PES start at byte %d: %+v; want incomplete, naming the cut PES", off, c)
		}
	}
	if tried < 5 {
		t.Fatalf("only %d bounded PES packets in the clip; the test clip does not exercise the check", tried)
	}
	if caught != tried {
		t.Errorf("caught %d of %d cuts inside a bounded PES", caught, tried)
	}
	t.Logf("cuts inside a bounded PES caught: %d of %d", caught, tried)
}

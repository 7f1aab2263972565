package pipeline

import (
	"testing"

	"kiln/packaging"
	"kiln/pipeline/plan"
)

// A 5.1 AAC encoder must describe its channels with the standard channel
// configuration 6: with 5.1(side) it wrote configuration 0 and a PCE, the
// ABR packagers read 0 channels, and every ABR job of a 5.1 source failed
// ("DASH representation audio: 48000 Hz, 0 channels").
func TestAAC51HasStandardChannelConfiguration(t *testing.T) {
	enc, err := openAudioEncoder(plan.AudioPlan{Encoder: "aac", SampleRate: 48000, Channels: 6, Layout: "5.1", BitRate: 384000}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	asc := enc.ctx.ExtraData()
	if len(asc) < 2 {
		t.Fatalf("AudioSpecificConfig of %d bytes", len(asc))
	}
	if cfg := (asc[1] >> 3) & 0x0f; cfg != 6 {
		t.Errorf("channel configuration %d, want 6 (5.1)", cfg)
	}
	ac, err := packaging.ParseAAC(asc, 384000)
	if err != nil || ac.Channels != 6 {
		t.Errorf("the packagers read %d channels (%v), want 6", ac.Channels, err)
	}
}

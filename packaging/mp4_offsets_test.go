package packaging

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

// ismvLikeFragment is one fragment as libav's ismv muxer writes it: the
// keyframe decoded when it is shown, the B-frames after it with negative
// offsets (version 1 trun), a tfxd time, and one byte per sample.
func ismvLikeFragment(t *testing.T, time uint64, offsets []int32) []byte {
	t.Helper()
	trun := &mp4.TrunBox{Version: 1, Flags: mp4.TrunDataOffsetPresentFlag | mp4.TrunSampleDurationPresentFlag |
		mp4.TrunSampleSizePresentFlag | mp4.TrunSampleFlagsPresentFlag | mp4.TrunSampleCompositionTimeOffsetPresentFlag}
	mdat := &mp4.MdatBox{}
	for i, o := range offsets {
		flags := nonSyncSampleFlags
		if i == 0 {
			flags = syncSampleFlags
		}
		trun.AddSample(mp4.NewSample(flags, 400000, 1, o))
		mdat.AddSampleData([]byte{0})
	}
	tfxd := mp4.NewTfxdBox(time, uint64(400000*len(offsets)))
	tfxd.Tfxd.Version = 1
	tfhd := mp4.CreateTfhd(1)
	tfhd.Flags = 0
	traf := &mp4.TrafBox{}
	traf.AddChild(tfhd)
	traf.AddChild(trun)
	traf.AddChild(tfxd)
	moof := &mp4.MoofBox{}
	moof.AddChild(mp4.CreateMfhd(1))
	moof.AddChild(traf)
	f := mp4.NewFragment()
	f.AddChild(moof)
	f.AddChild(mdat)
	b, err := encodeBox(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Raising a file's composition offsets by the reorder delay leaves none
// negative and shows the keyframe that much after it decodes; an offset
// that would stay negative is refused and the file left as it was.
func TestRaiseCompositionOffsets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.ismv")
	var file []byte
	for i := range 2 {
		file = append(file, ismvLikeFragment(t, uint64(i)*1600000, []int32{0, 1200000, -400000, -800000})...)
	}
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	frags, err := ReadFragments(path)
	if err != nil || len(frags) != 2 || !frags[0].NegativeOffsets || frags[0].Presentation != 0 || frags[1].Presentation != 1600000 {
		t.Fatalf("before: %+v %v", frags, err)
	}
	if err := RaiseCompositionOffsets(path, 400000); err == nil {
		t.Error("a raise that leaves an offset negative was accepted")
	}
	if after, _ := os.ReadFile(path); string(after) != string(file) {
		t.Error("a refused raise changed the file")
	}
	if err := RaiseCompositionOffsets(path, 800000); err != nil {
		t.Fatal(err)
	}
	frags, err = ReadFragments(path)
	if err != nil || len(frags) != 2 {
		t.Fatalf("after: %+v %v", frags, err)
	}
	for i, f := range frags {
		if f.NegativeOffsets || f.Time != uint64(i)*1600000 || f.Presentation != int64(i)*1600000+800000 || !f.Sync || f.Samples != 4 {
			t.Errorf("fragment %d after the raise: %+v", i+1, f)
		}
	}
}

package packaging

import (
	"bytes"
	"encoding/binary"
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

// A rung encoded without B-frames: libav's ismv muxer writes its truns with
// no composition offsets at all (every sample shows when it decodes), and
// the raise found nothing to raise, so that rung showed its pictures the
// reorder delay before every other rung's (the smallest Smooth rung of a
// one-IDR 2160p package started at 0.021 s, the others at 0.101 s). The
// truns get offsets, the moofs grow, and the data offsets and the mfra's
// moof offsets follow them.
func TestRaiseCompositionOffsetsAddsMissingOffsets(t *testing.T) {
	const samples = 4
	fragment := func(number uint32, time uint64) []byte {
		// As libav writes it: a data offset from the moof's start, sizes
		// and flags per sample, no offsets.
		trun := &mp4.TrunBox{Version: 1, Flags: mp4.TrunDataOffsetPresentFlag | mp4.TrunSampleSizePresentFlag | mp4.TrunSampleFlagsPresentFlag}
		mdat := &mp4.MdatBox{}
		for i := range samples {
			flags := uint32(nonSyncSampleFlags)
			if i == 0 {
				flags = syncSampleFlags
			}
			trun.AddSample(mp4.NewSample(flags, 400000, 1, 0))
			mdat.AddSampleData([]byte{byte(number*16 + uint32(i))})
		}
		tfxd := mp4.NewTfxdBox(time, 400000*samples)
		tfxd.Tfxd.Version = 1
		tfhd := mp4.CreateTfhd(1)
		tfhd.Flags = 0x000008 // a default sample duration, no base
		tfhd.DefaultSampleDuration = 400000
		traf := &mp4.TrafBox{}
		traf.AddChild(tfhd)
		traf.AddChild(trun)
		traf.AddChild(tfxd)
		moof := &mp4.MoofBox{}
		moof.AddChild(mp4.CreateMfhd(number))
		moof.AddChild(traf)
		f := mp4.NewFragment()
		f.AddChild(moof)
		f.AddChild(mdat)
		b, err := encodeBox(f) // sets the data offset past the mdat's header
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var file []byte
	var moofs []uint32
	for i := range 3 {
		moofs = append(moofs, uint32(len(file)))
		file = append(file, fragment(uint32(i+1), uint64(i)*1600000)...)
	}
	tfra := &mp4.TfraBox{TrackID: 1}
	for i, off := range moofs {
		tfra.Entries = append(tfra.Entries, mp4.TfraEntry{Time: uint64(i) * 1600000, MoofOffset: uint64(off), TrafNumber: 1, TrunNumber: 1, SampleNumber: 1})
	}
	mfro := &mp4.MfroBox{}
	mfra := &mp4.MfraBox{}
	mfra.AddChild(tfra)
	mfra.AddChild(mfro)
	mfro.ParentSize = uint32(mfra.Size())
	b, err := encodeBox(mfra)
	if err != nil {
		t.Fatal(err)
	}
	file = append(file, b...)
	path := filepath.Join(t.TempDir(), "v.ismv")
	if err := os.WriteFile(path, file, 0o640); err != nil {
		t.Fatal(err)
	}
	before, err := ReadFragments(path)
	if err != nil || len(before) != 3 || before[1].Presentation != 1600000 {
		t.Fatalf("before: %+v %v", before, err)
	}

	if err := RaiseCompositionOffsets(path, 800000); err != nil {
		t.Fatal(err)
	}
	after, err := ReadFragments(path)
	if err != nil || len(after) != 3 {
		t.Fatalf("after: %+v %v", after, err)
	}
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("the rewritten file's mode is %v, want 0640", st.Mode().Perm())
	}
	for i, f := range after {
		if f.Time != uint64(i)*1600000 || f.Presentation != int64(i)*1600000+800000 || !f.Sync || f.Samples != samples || f.NegativeOffsets {
			t.Errorf("fragment %d after the raise: %+v", i+1, f)
		}
		// Every sample's offset is the raise, and the data offset still
		// finds the fragment's first sample.
		moof := b[f.Offset:]
		trun := bytes.Index(moof, []byte("trun"))
		flags := binary.BigEndian.Uint32(moof[trun+4:])
		if flags != 0x000001|0x000200|0x000400|0x000800 {
			t.Errorf("fragment %d: trun version and flags %#x", i+1, flags)
		}
		for s := range samples {
			if cto := binary.BigEndian.Uint32(moof[trun+16+s*12+8:]); cto != 800000 {
				t.Errorf("fragment %d sample %d: composition offset %d, want 800000", i+1, s+1, cto)
			}
		}
		data := binary.BigEndian.Uint32(moof[trun+12:])
		if got := moof[data]; got != byte((i+1)*16) {
			t.Errorf("fragment %d: the data offset finds byte %#x, want %#x", i+1, got, (i+1)*16)
		}
	}
	tfraAt := bytes.Index(b, []byte("tfra"))
	for i, f := range after {
		if off := binary.BigEndian.Uint32(b[tfraAt+4+16+i*11+4:]); int64(off) != f.Offset {
			t.Errorf("mfra entry %d: moof at %d, the moof is at %d", i+1, off, f.Offset)
		}
	}
	if f := after[2]; f.Offset != int64(moofs[2])+2*4*samples {
		t.Errorf("third moof at %d, want %d (two grown moofs before it)", f.Offset, int64(moofs[2])+2*4*samples)
	}
}

package packaging

import (
	"os"
	"path/filepath"
	"testing"
)

// ismvLikeFragment is one fragment as libav's ismv muxer writes it: the
// keyframe decoded when it is shown, the B-frames after it with negative
// offsets (version 1 trun), and a tfxd time.
func ismvLikeFragment(time uint64, offsets []int32) []byte {
	trun := newFullBox("trun", 1, 0x000001|0x000100|0x000200|0x000400|0x000800).u32(uint32(len(offsets))).u32(0)
	for i, o := range offsets {
		flags := uint32(nonSyncSampleFlags)
		if i == 0 {
			flags = syncSampleFlags
		}
		trun.u32(400000).u32(1).u32(flags).u32(uint32(o))
	}
	tfxd := newBox("uuid")
	tfxd.b = append(tfxd.b, tfxdUUID...)
	tfxd.u32(0x01000000).u64(time).u64(uint64(400000 * len(offsets)))
	traf := newBox("traf").add(newFullBox("tfhd", 0, 0).u32(1).bytes(), trun.bytes(), tfxd.bytes())
	moof := newBox("moof").add(newFullBox("mfhd", 0, 0).u32(1).bytes(), traf.bytes()).bytes()
	return append(moof, mdatHeader(len(offsets))...)
}

// Raising a file's composition offsets by the reorder delay leaves none
// negative and shows the keyframe that much after it decodes; an offset
// that would stay negative is refused and the file left as it was.
func TestRaiseCompositionOffsets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.ismv")
	var file []byte
	for i := range 2 {
		file = append(file, ismvLikeFragment(uint64(i)*1600000, []int32{0, 1200000, -400000, -800000})...)
		file = append(file, 0, 0, 0, 0) // the mdat's four one-byte samples
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

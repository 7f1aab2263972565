package av

import (
	"errors"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/asticode/go-astiav"
)

// TestWrapperLayout pins what cObject assumes of go-astiav's wrappers: the
// first field of each is its C object. It fails when an upgrade moves that
// field, renames its type, or when values read through it stop matching
// go-astiav's own getters.
func TestWrapperLayout(t *testing.T) {
	for _, w := range []struct {
		typ   reflect.Type
		cType string
	}{
		{reflect.TypeOf(astiav.Stream{}), "AVStream"},
		{reflect.TypeOf(astiav.CodecParameters{}), "AVCodecParameters"},
		{reflect.TypeOf(astiav.FormatContext{}), "AVFormatContext"},
		{reflect.TypeOf(astiav.FilterContext{}), "AVFilterContext"},
		{reflect.TypeOf(astiav.CodecContext{}), "AVCodecContext"},
		{reflect.TypeOf(astiav.Packet{}), "AVPacket"},
	} {
		f := w.typ.Field(0)
		if f.Offset != 0 || f.Type.Kind() != reflect.Pointer || !strings.HasSuffix(f.Type.Elem().Name(), "struct_"+w.cType) {
			t.Errorf("astiav.%s's first field is %s %v: cObject expects a *C.struct_%s", w.typ.Name(), f.Name, f.Type, w.cType)
		}
	}

	path := testFile(t)
	fc, err := OpenInput(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Free()
	defer fc.CloseInput()
	s := fc.Streams()[0]
	p := s.CodecParameters()
	cc := astiav.AllocCodecContext(astiav.FindDecoder(p.CodecID()))
	defer cc.Free()
	if err := p.ToCodecContext(cc); err != nil {
		t.Fatal(err)
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	pkt.SetPts(4242)
	graph := astiav.AllocFilterGraph()
	defer graph.Free()
	src, err := graph.NewFilterContext(astiav.FindFilterByName("buffer"), "in",
		astiav.FilterArgs{"video_size": "64x48", "pix_fmt": "0", "time_base": "1/25"})
	if err != nil {
		t.Fatal(err)
	}
	got := readThroughCObject(s, p, fc, src, cc, pkt)
	want := wrapperFields{
		streamIndex: s.Index(), codecParamsWidth: p.Width(), formatStreams: fc.NbStreams(),
		filterOutputs: src.NbOutputs(), codecWidth: cc.Width(), packetPts: pkt.Pts(),
	}
	if got != want || want.codecParamsWidth != 64 || want.packetPts != 4242 {
		t.Errorf("read through cObject: %+v; go-astiav's getters: %+v", got, want)
	}
}

// TestOpenInputErrors: a file no demuxer takes fails as an *OpenError that
// names it, wrapping libav's error.
func TestOpenInputErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "noise.bin")
	if err := exec.Command("sh", "-c", "head -c 4096 /dev/urandom > "+path).Run(); err != nil {
		t.Fatal(err)
	}
	_, err := OpenInput(path, nil, nil)
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Streams || !strings.HasPrefix(err.Error(), "libav cannot open noise.bin: ") {
		t.Fatalf("OpenInput(noise): %v; want an *OpenError for opening", err)
	}
	var ae astiav.Error
	if !errors.As(err, &ae) {
		t.Errorf("%v does not wrap libav's error", err)
	}
}

// TestOpenInputDiscards: the streams keep refuses are discarded, so the
// demuxer hands out none of their packets.
func TestOpenInputDiscards(t *testing.T) {
	fc, err := OpenInput(testFile(t), nil, func(s *astiav.Stream) bool { return s.Index() != 1 })
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Free()
	defer fc.CloseInput()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	seen := map[int]int{}
	for fc.ReadFrame(pkt) == nil {
		seen[pkt.StreamIndex()]++
		pkt.Unref()
	}
	if seen[0] == 0 || seen[1] != 0 {
		t.Errorf("packets per stream %v: want video only, the audio discarded", seen)
	}
}

// testFile is a short video (64x48, stream 0) with audio (stream 1).
func testFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.mkv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25",
		"-f", "lavfi", "-i", "sine", "-t", "0.4", "-c:v", "ffv1", "-c:a", "pcm_s16le", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

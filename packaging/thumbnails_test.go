package packaging

import (
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func grey(w, h int, y uint8) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = y
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img
}

func TestThumbnailTrack(t *testing.T) {
	dir := t.TempDir()
	var stills []Still
	for i := 0; i < 12; i++ {
		stills = append(stills, Still{Time: float64(i) * 10, Image: grey(160, 90, uint8(16+i*10))})
	}
	files, err := WriteThumbnailTrack(dir, stills, 10, 115)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(files, " ") != "sprite-001.jpg thumbnails.vtt" {
		t.Errorf("files %v", files)
	}
	f, _ := os.Open(filepath.Join(dir, "sprite-001.jpg"))
	cfg, err := jpeg.DecodeConfig(f)
	f.Close()
	if err != nil || cfg.Width != 1600 || cfg.Height != 180 {
		t.Errorf("sprite sheet %dx%d (%v), want 10 columns, 2 rows of 160x90", cfg.Width, cfg.Height, err)
	}
	vtt, _ := os.ReadFile(filepath.Join(dir, ThumbnailTrack))
	for _, want := range []string{"WEBVTT\n", "00:00:00.000 --> 00:00:10.000\nsprite-001.jpg#xywh=0,0,160,90\n",
		"00:01:40.000 --> 00:01:50.000\nsprite-001.jpg#xywh=0,90,160,90\n", "00:01:50.000 --> 00:01:55.000\nsprite-001.jpg#xywh=160,90,160,90\n"} {
		if !strings.Contains(string(vtt), want) {
			t.Errorf("thumbnail track lacks %q:\n%s", want, vtt)
		}
	}
	if _, err := WriteThumbnailTrack(dir, []Still{{Image: grey(160, 90, 0)}, {Image: grey(80, 90, 0)}}, 10, 20); err == nil {
		t.Error("tiles of different sizes were accepted")
	}
}

func TestFullRange(t *testing.T) {
	img := grey(2, 2, 16)
	img.Y[1], img.Y[2], img.Y[3] = 235, 126, 255
	img.Cb[0], img.Cr[0] = 16, 240
	out := fullRange(img)
	if out.Y[0] != 0 || out.Y[1] != 255 || out.Y[2] != 128 || out.Y[3] != 255 {
		t.Errorf("luma %v, want 0 255 128 255", out.Y)
	}
	// 16 and 240 are ±112 from the middle: ±127.5 in full range.
	if out.Cb[0] > 1 || out.Cr[0] != 255 {
		t.Errorf("chroma %d %d, want 0 or 1, and 255", out.Cb[0], out.Cr[0])
	}
	if err := WritePoster(filepath.Join(t.TempDir(), PosterFile), img); err != nil {
		t.Fatal(err)
	}
}

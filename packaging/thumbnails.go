package packaging

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
)

// Still is one picture taken for the thumbnails: 4:2:0 YCbCr in limited
// (video) range, the form the encoders take.
type Still struct {
	Time  float64 // seconds from the start
	Image *image.YCbCr
}

// Thumbnail file names inside a package's thumbnails folder.
const (
	PosterFile     = "poster.jpg"
	ThumbnailTrack = "thumbnails.vtt"
	spriteFormat   = "sprite-%03d.jpg"
	// A sheet holds at most spriteColumns × spriteRows tiles, so that a
	// player fetching one sheet for a seek bar does not fetch the whole film.
	spriteColumns = 10
	spriteRows    = 10
	jpegQuality   = 85
)

// WritePoster writes a still as a JPEG poster frame.
func WritePoster(path string, img *image.YCbCr) error {
	return writeJPEG(path, fullRange(img))
}

// WriteThumbnailTrack writes sprite sheets of the stills, taken every
// `every` seconds, and a WebVTT track whose cues point at each tile with a
// media fragment (sprite-001.jpg#xywh=x,y,w,h), as players' seek-bar
// previews read them. duration ends the last cue. It returns the files
// written, relative to dir.
func WriteThumbnailTrack(dir string, stills []Still, every, duration float64) ([]string, error) {
	if len(stills) == 0 {
		return nil, fmt.Errorf("no thumbnails to write")
	}
	tw, th := stills[0].Image.Rect.Dx(), stills[0].Image.Rect.Dy()
	var files []string
	var vtt bytes.Buffer
	vtt.WriteString("WEBVTT\n")
	perSheet := spriteColumns * spriteRows
	for first := 0; first < len(stills); first += perSheet {
		tiles := stills[first:min(first+perSheet, len(stills))]
		cols := min(len(tiles), spriteColumns)
		rows := (len(tiles) + spriteColumns - 1) / spriteColumns
		sheet := image.NewYCbCr(image.Rect(0, 0, cols*tw, rows*th), image.YCbCrSubsampleRatio420)
		name := fmt.Sprintf(spriteFormat, first/perSheet+1)
		for i, s := range tiles {
			if s.Image.Rect.Dx() != tw || s.Image.Rect.Dy() != th {
				return nil, fmt.Errorf("thumbnail %d is %dx%d, not %dx%d like the others", first+i, s.Image.Rect.Dx(), s.Image.Rect.Dy(), tw, th)
			}
			x, y := (i%spriteColumns)*tw, (i/spriteColumns)*th
			place(sheet, s.Image, x, y)
			start := float64(first+i) * every
			end := math.Min(start+every, duration)
			if end <= start {
				end = start + every
			}
			fmt.Fprintf(&vtt, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n", vttTime(start), vttTime(end), name, x, y, tw, th)
		}
		if err := writeJPEG(filepath.Join(dir, name), fullRange(sheet)); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	if err := os.WriteFile(filepath.Join(dir, ThumbnailTrack), vtt.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("writing the thumbnail track: %w", err)
	}
	return append(files, ThumbnailTrack), nil
}

// place copies src into dst with its top-left corner at (x, y), both even.
func place(dst, src *image.YCbCr, x, y int) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for r := 0; r < h; r++ {
		copy(dst.Y[(y+r)*dst.YStride+x:], src.Y[r*src.YStride:r*src.YStride+w])
	}
	cw, ch := (w+1)/2, (h+1)/2
	for r := 0; r < ch; r++ {
		d := (y/2+r)*dst.CStride + x/2
		s := r * src.CStride
		copy(dst.Cb[d:d+cw], src.Cb[s:s+cw])
		copy(dst.Cr[d:d+cw], src.Cr[s:s+cw])
	}
}

// fullRange expands limited-range samples (Y 16–235, C 16–240) to the full
// range JPEG's YCbCr uses; without it the poster looks washed out.
func fullRange(img *image.YCbCr) *image.YCbCr {
	out := image.NewYCbCr(img.Rect, img.SubsampleRatio)
	var lumaLUT, chromaLUT [256]uint8
	for v := 0; v < 256; v++ {
		lumaLUT[v] = clamp8(math.Round(float64(v-16) * 255 / 219))
		chromaLUT[v] = clamp8(math.Round(float64(v-128)*255/224 + 128))
	}
	for i, v := range img.Y {
		out.Y[i] = lumaLUT[v]
	}
	for i := range img.Cb {
		out.Cb[i] = chromaLUT[img.Cb[i]]
		out.Cr[i] = chromaLUT[img.Cr[i]]
	}
	return out
}

func clamp8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, v)))
}

func writeJPEG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// vttTime writes seconds as a WebVTT timestamp, HH:MM:SS.mmm.
func vttTime(s float64) string {
	ms := int64(math.Round(s * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}

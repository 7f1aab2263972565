package pipeline

import (
	"fmt"
	"image/png"
	"os"

	"kiln/config"
	"kiln/kernels"
	"kiln/pipeline/plan"
)

// watermarkStage blends a logo over every picture, in place, in the output's
// format: after scaling, so the logo keeps its pixel size whatever the source.
type watermarkStage struct {
	b       kernels.Backend
	overlay *kernels.Overlay
	x, y    int
	opacity float64
}

// watermarkMargin keeps a logo inside the title-safe area: 5 % of the
// picture from each edge it sits at.
const watermarkMargin = 0.05

// newWatermarkStage blends w over pictures of format target, for the output
// v describes.
func newWatermarkStage(b kernels.Backend, w *config.Watermark, v plan.VideoPlan, target kernels.Format) (*watermarkStage, error) {
	f, err := os.Open(w.Image)
	if err != nil {
		return nil, &ProfileError{Reason: fmt.Sprintf("watermark image: %v", err)}
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, &ProfileError{Reason: fmt.Sprintf("watermark image %s is not a readable PNG: %v", w.Image, err)}
	}
	// The logo's colours are converted with the output's matrix.
	matrix := kernels.BT709
	if v.ColorSpace == "bt470bg" || v.ColorSpace == "smpte170m" || (v.ColorSpace == "" && v.Height <= 576) {
		matrix = kernels.BT601
	}
	o, err := kernels.NewOverlay(img, matrix, target.Chroma, target.Depth)
	if err != nil {
		return nil, err
	}
	if o.Width > target.Width || o.Height > target.Height {
		return nil, &ProfileError{Reason: fmt.Sprintf("watermark %dx%d is larger than the %dx%d picture", o.Width, o.Height, target.Width, target.Height)}
	}
	x, y := watermarkPosition(w.Position, target, o.Width, o.Height)
	return &watermarkStage{b: b, overlay: o, x: x, y: y, opacity: w.Opacity}, nil
}

// watermarkPosition places a w×h logo in a picture, on the chroma grid.
func watermarkPosition(position string, f kernels.Format, w, h int) (x, y int) {
	mx, my := int(float64(f.Width)*watermarkMargin), int(float64(f.Height)*watermarkMargin)
	left, right := mx, f.Width-w-mx
	top, bottom := my, f.Height-h-my
	switch position {
	case "top-left":
		x, y = left, top
	case "top-right":
		x, y = right, top
	case "bottom-left":
		x, y = left, bottom
	case "center":
		x, y = (f.Width-w)/2, (f.Height-h)/2
	default: // bottom-right
		x, y = right, bottom
	}
	sx, sy := f.Chroma.Sub()
	x, y = max(x, 0)/sx*sx, max(y, 0)/sy*sy
	// Interlaced 4:2:0 pictures carry chroma per field: keep whole line pairs.
	return x, y &^ 3
}

func (s *watermarkStage) push(p picture, emit func(picture) error) error {
	if err := s.b.Overlay(p.img, s.overlay, s.x, s.y, s.opacity); err != nil {
		return err
	}
	return emit(p)
}

func (s *watermarkStage) end(func(picture) error) error { return nil }

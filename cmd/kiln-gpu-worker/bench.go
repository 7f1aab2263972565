//go:build cuda

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"time"

	"kiln/gpu"
	"kiln/hardware"
	"kiln/kernels"
	"kiln/kernels/paritytest"
)

// benchResult is one measurement. Mpix/s counts output luma samples, as
// the CPU benchmarks in kernels/ do, so the two read side by side.
type benchResult struct {
	Name       string  `json:"name"`
	Format     string  `json:"format"`
	Iterations int     `json:"iterations"`
	Seconds    float64 `json:"seconds"`
	MpixPerS   float64 `json:"mpix_per_s"`
}

type benchReport struct {
	Device     hardware.GPU  `json:"device"`
	DriverCUDA string        `json:"driver_cuda,omitempty"`
	Note       string        `json:"note"`
	Results    []benchResult `json:"results"`
}

// benchSizes are the CPU benchmarks' sizes (kernels/kernels_bench_test.go).
var benchSizes = []struct {
	name string
	f    kernels.Format
}{
	{"SD", kernels.Format{Width: 720, Height: 576, Chroma: kernels.Chroma420, Depth: 8}},
	{"1080", kernels.Format{Width: 1920, Height: 1080, Chroma: kernels.Chroma420, Depth: 8}},
}

// bench times each operation on images already on the device, so that it
// measures the kernels (and, for EstimateMotion, the fields' return to the
// host that the API includes), then Upload and Download on their own.
func bench(ctx context.Context, stdout io.Writer, device int, seconds float64) error {
	b, err := gpu.Open(gpu.Options{Device: device})
	if err != nil {
		return err
	}
	defer b.Close()
	d := b.Device()
	rep := benchReport{
		Device: hardware.GPU{Index: d.Index, Name: d.Name, ComputeCapability: d.ComputeCapability(), MemoryBytes: d.MemoryBytes},
		Note:   "device-resident images; each figure waits for the device (Sync) at the end of its timed loop",
	}
	if v := gpu.DriverVersion(); v > 0 {
		rep.DriverCUDA = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	m := &meter{b: b, ctx: ctx, minTime: time.Duration(seconds * float64(time.Second))}
	for _, sz := range benchSizes {
		f := sz.f
		x, y, dst := m.upload(paritytest.Picture(f, 1)), m.upload(paritytest.Picture(f, 2)), m.image(f)
		mc, _ := kernels.NewMatrixConverter(kernels.BT709, kernels.BT601)
		logo, err := kernels.NewOverlay(benchLogo(256, 128), kernels.BT709, f.Chroma, f.Depth)
		if err != nil {
			return err
		}
		ff, err := kernels.FieldFormat(f)
		if err != nil {
			return err
		}
		top, bot := m.image(ff), m.image(ff)
		pan := m.upload(shift(paritytest.Picture(f, 1), 9, -5))
		m.run("ConvertMatrix/"+sz.name, f, func() error { return b.ConvertMatrix(dst, x, mc) })
		m.run("Pad/"+sz.name, f, func() error { return b.Pad(dst, x, 0, 0) })
		m.run("Overlay/"+sz.name, f, func() error { return b.Overlay(dst, logo, 64, 64, 0.8) })
		m.run("Interlace/"+sz.name, f, func() error {
			return b.Interlace(dst, x, y, kernels.TopFieldFirst, kernels.InterlaceComplex)
		})
		m.run("ReverseFieldOrder/"+sz.name, f, func() error { return b.ReverseFieldOrder(dst, x, kernels.TopFieldFirst) })
		m.run("SeparateFields/"+sz.name, f, func() error { return b.SeparateFields(top, bot, x) })
		m.run("WeaveFields/"+sz.name, f, func() error { return b.WeaveFields(dst, top, bot) })
		m.run("Deinterlace/"+sz.name, f, func() error {
			return b.Deinterlace(dst, x, y, x, kernels.TopFieldFirst, true)
		})
		var motion *kernels.Motion
		m.run("EstimateMotion/"+sz.name, f, func() error {
			var err error
			motion, err = b.EstimateMotion(x, pan, nil)
			return err
		})
		if motion != nil {
			m.run("InterpolateMC/"+sz.name, f, func() error {
				return b.Interpolate(dst, x, pan, motion, 0.5, kernels.MethodMC)
			})
		}
		m.run("InterpolateBlend/"+sz.name, f, func() error {
			return b.Interpolate(dst, x, y, nil, 0.5, kernels.MethodBlend)
		})
		host := kernels.NewFrame(f)
		src := paritytest.Picture(f, 3)
		m.run("Upload/"+sz.name, f, func() error { return b.Upload(dst, src) })
		m.run("Download/"+sz.name, f, func() error { return b.Download(host, dst) })
	}
	for _, c := range []struct {
		name     string
		src, dst kernels.Format
	}{
		{"Scale/1080to576", benchSizes[1].f, kernels.Format{Width: 720, Height: 576, Chroma: kernels.Chroma420, Depth: 8}},
		{"Scale/576to1080", benchSizes[0].f, benchSizes[1].f},
	} {
		s, err := kernels.NewScaler(c.src, c.dst, kernels.ScaleParams{Filter: kernels.Lanczos3})
		if err != nil {
			return err
		}
		src, dst := m.upload(paritytest.Picture(c.src, 1)), m.image(c.dst)
		m.run(c.name, c.dst, func() error { return b.Scale(dst, src, s) })
	}
	m.releaseAll()
	if m.err != nil {
		return m.err
	}
	rep.Results = m.results
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// meter runs timed loops and keeps the first error.
type meter struct {
	b       *gpu.Backend
	ctx     context.Context
	minTime time.Duration
	imgs    []kernels.Image
	results []benchResult
	err     error
}

func (m *meter) image(f kernels.Format) kernels.Image {
	if m.err != nil {
		return nil
	}
	img, err := m.b.NewImage(f)
	if err != nil {
		m.err = err
		return nil
	}
	m.imgs = append(m.imgs, img)
	return img
}

func (m *meter) upload(fr *kernels.Frame) kernels.Image {
	img := m.image(fr.Format)
	if m.err == nil {
		m.err = m.b.Upload(img, fr)
	}
	return img
}

func (m *meter) releaseAll() {
	for _, img := range m.imgs {
		m.b.Release(img)
	}
	m.imgs = nil
}

// run warms op up (the first launch of a kernel loads it), then repeats it
// in batches until minTime has passed, waiting for the device at the end.
func (m *meter) run(name string, f kernels.Format, op func() error) {
	if m.err != nil {
		return
	}
	if m.err = m.ctx.Err(); m.err != nil {
		return
	}
	for i := 0; i < 3; i++ {
		if err := op(); err != nil {
			m.err = fmt.Errorf("%s: %w", name, err)
			return
		}
	}
	if m.err = m.b.Sync(); m.err != nil {
		return
	}
	n := 0
	start := time.Now()
	for time.Since(start) < m.minTime {
		for i := 0; i < 10; i++ {
			if err := op(); err != nil {
				m.err = fmt.Errorf("%s: %w", name, err)
				return
			}
		}
		n += 10
		if m.err = m.b.Sync(); m.err != nil {
			return
		}
	}
	el := time.Since(start).Seconds()
	m.results = append(m.results, benchResult{Name: name, Format: f.String(), Iterations: n, Seconds: el,
		MpixPerS: float64(f.Width*f.Height) * float64(n) / el / 1e6})
}

// shift moves a picture by (dx, dy) luma samples, edges repeated: a pan,
// for the motion benchmarks.
func shift(f *kernels.Frame, dx, dy int) *kernels.Frame {
	out := kernels.NewFrame(f.Format)
	for i := 0; i < 3; i++ {
		sx, sy := 1, 1
		if i > 0 {
			sx, sy = f.Chroma.Sub()
		}
		p := &out.Planes[i]
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				out.Set(i, x, y, f.At(i, min(max(x-dx/sx, 0), p.Width-1), min(max(y-dy/sy, 0), p.Height-1)))
			}
		}
	}
	return out
}

// benchLogo is a grey logo with an alpha ramp, like the CPU benchmark's.
func benchLogo(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8((x*7 + y*3) % 256)
			img.SetNRGBA(x, y, color.NRGBA{v, v, v, uint8(x * 255 / (w - 1))})
		}
	}
	return img
}

package pipeline

import (
	"fmt"
	"math"

	"kiln/kernels"
	"kiln/pipeline/plan"
	"kiln/sdi"
)

// picture is one frame travelling through the video chain: an image on the
// kernel backend, with its start time and duration in seconds from the job's
// start. Seconds as float64 stay exact to well under a microsecond over days
// of video, and spare every stage the arithmetic of mixed time bases.
type picture struct {
	img kernels.Image
	t   float64
	dur float64
}

// stage is one step of the video chain. push takes one picture and emits
// zero or more; end flushes what the stage still holds.
type stage interface {
	push(p picture, emit func(picture) error) error
	end(emit func(picture) error) error
}

// videoChain runs a plan's video stages on a kernel backend. Each stage sees
// pictures in the order and format the previous one made them.
type videoChain struct {
	b      kernels.Backend
	stages []stage
}

// newVideoChain builds exactly the stages of a plan's chain, given the format
// of the pictures that will enter it, which must be the plan's InPixFmt.
// target is the encoder's picture format, which the plan's stages must make.
func newVideoChain(b kernels.Backend, v plan.VideoPlan, in, target kernels.Format) (*videoChain, error) {
	if want, ok := kernelFormat(v.InPixFmt, in.Width, in.Height); !ok || want != in {
		return nil, fmt.Errorf("the video chain is planned for %s pictures, but they come as %v", v.InPixFmt, in)
	}
	c := &videoChain{b: b}
	cur := in
	for _, st := range v.Chain {
		next, s, err := makeStage(b, st, cur, target, v)
		if err != nil {
			return nil, fmt.Errorf("video stage %s: %w", st.Op, err)
		}
		c.stages = append(c.stages, s)
		cur = next
	}
	if cur != target {
		return nil, fmt.Errorf("the planned video chain makes %v pictures, but the encoder takes %v", cur, target)
	}
	return c, nil
}

// push feeds one picture through every stage.
func (c *videoChain) push(p picture, emit func(picture) error) error {
	return c.pushFrom(0, p, emit)
}

func (c *videoChain) pushFrom(i int, p picture, emit func(picture) error) error {
	if i == len(c.stages) {
		return emit(p)
	}
	return c.stages[i].push(p, func(q picture) error { return c.pushFrom(i+1, q, emit) })
}

// end flushes the stages in order, so each flush flows through the rest.
// until is where the source's last picture ends, in seconds, as the
// container's packet durations say (0 when they say nothing): a decoded
// picture carries only the stream's nominal frame duration, which on a
// variable-rate source (a phone clip at 30 then 15 fps) is shorter than
// its last picture's, and the output would end up to a source picture
// short.
func (c *videoChain) end(until float64, emit func(picture) error) error {
	for _, s := range c.stages {
		if r, ok := s.(*rateStage); ok {
			r.until = until
		}
	}
	for i, s := range c.stages {
		if err := s.end(func(q picture) error { return c.pushFrom(i+1, q, emit) }); err != nil {
			return err
		}
	}
	return nil
}

func makeStage(b kernels.Backend, st plan.Stage, in, target kernels.Format, v plan.VideoPlan) (kernels.Format, stage, error) {
	params := kernels.ScaleParams{Filter: scaleFilter(st.Filter), Siting: kernels.SitingLeft}
	switch st.Op {
	case plan.OpScale:
		out := kernels.Format{Width: st.Width, Height: st.Height, Chroma: target.Chroma, Depth: target.Depth}
		sc, err := kernels.NewScaler(in, out, params)
		if err != nil {
			return in, nil, err
		}
		return out, &mapStage{b: b, out: out, fn: func(dst, src kernels.Image) error { return b.Scale(dst, src, sc) }}, nil
	case plan.OpFieldScale:
		out := kernels.Format{Width: st.Width, Height: st.Height, Chroma: target.Chroma, Depth: target.Depth}
		s, err := newFieldScaleStage(b, in, out, params)
		return out, s, err
	case plan.OpColourMatrix:
		from, to := kernels.BT709, kernels.BT601
		if st.Matrix == "bt601→bt709" {
			from, to = kernels.BT601, kernels.BT709
		}
		mc, err := kernels.NewMatrixConverter(from, to)
		if err != nil {
			return in, nil, err
		}
		return in, &mapStage{b: b, out: in, fn: func(dst, src kernels.Image) error { return b.ConvertMatrix(dst, src, mc) }}, nil
	case plan.OpPad:
		out := in
		out.Width, out.Height = st.Width, st.Height
		return out, &mapStage{b: b, out: out, fn: func(dst, src kernels.Image) error { return b.Pad(dst, src, st.X, st.Y) }}, nil
	case plan.OpCrop:
		out := in
		out.Width, out.Height = st.Width, st.Height
		return out, &mapStage{b: b, out: out, fn: func(dst, src kernels.Image) error { return b.Crop(dst, src, st.X, st.Y) }}, nil
	case plan.OpFieldOrder:
		from := fieldOrderOf(st.Order)
		return in, &mapStage{b: b, out: in, fn: func(dst, src kernels.Image) error { return b.ReverseFieldOrder(dst, src, from) }}, nil
	case plan.OpDeinterlace:
		return in, &deinterlaceStage{b: b, format: in, order: fieldOrderOf(st.Order), double: st.Double}, nil
	case plan.OpFrameRate:
		return in, &rateStage{b: b, rate: st.Rate, method: rateMethod(st.Method), format: in}, nil
	case plan.OpInterlace:
		return in, &interlaceStage{b: b, format: in}, nil
	case plan.OpPulldown:
		ff, err := kernels.FieldFormat(in)
		if err != nil {
			return in, nil, err
		}
		return in, &pulldownStage{b: b, format: in, field: ff}, nil
	case plan.OpConvert:
		out, ok := kernelFormat(st.PixFmt, in.Width, in.Height)
		if !ok {
			return in, nil, fmt.Errorf("pixel format %s is not one the kernels make", st.PixFmt)
		}
		sc, err := kernels.NewScaler(in, out, params)
		if err != nil {
			return in, nil, fmt.Errorf("converting %v to %v: %w", in, out, err)
		}
		return out, &mapStage{b: b, out: out, fn: func(dst, src kernels.Image) error { return b.Scale(dst, src, sc) }}, nil
	case plan.OpWatermark:
		s, err := newWatermarkStage(b, st.Watermark, v, in)
		return in, s, err
	}
	return in, nil, fmt.Errorf("unknown stage %q", st.Op)
}

// mapStage turns each picture into one new picture of format out.
type mapStage struct {
	b   kernels.Backend
	out kernels.Format
	fn  func(dst, src kernels.Image) error
}

func (s *mapStage) push(p picture, emit func(picture) error) error {
	dst, err := s.b.NewImage(s.out)
	if err != nil {
		return err
	}
	if err := s.fn(dst, p.img); err != nil {
		return err
	}
	s.b.Release(p.img)
	p.img = dst
	return emit(p)
}

func (s *mapStage) end(func(picture) error) error { return nil }

// fieldScaleStage scales each field of an interlaced picture on its own, so
// that fields stay fields: no line of one field leaks into the other.
type fieldScaleStage struct {
	b                 kernels.Backend
	inField, outField kernels.Format
	out               kernels.Format
	scaler            *kernels.Scaler
}

func newFieldScaleStage(b kernels.Backend, in, out kernels.Format, params kernels.ScaleParams) (*fieldScaleStage, error) {
	inField, err := kernels.FieldFormat(in)
	if err != nil {
		return nil, err
	}
	outField, err := kernels.FieldFormat(out)
	if err != nil {
		return nil, err
	}
	sc, err := kernels.NewScaler(inField, outField, params)
	if err != nil {
		return nil, err
	}
	return &fieldScaleStage{b: b, inField: inField, outField: outField, out: out, scaler: sc}, nil
}

func (s *fieldScaleStage) push(p picture, emit func(picture) error) error {
	if src, ok := p.img.(*kernels.Frame); ok && kernels.ImagesAreHostFrames(s.b) {
		return s.pushViews(p, src, emit)
	}
	imgs, err := newImages(s.b, s.inField, s.inField, s.outField, s.outField, s.out)
	if err != nil {
		return err
	}
	top, bottom, sTop, sBottom, dst := imgs[0], imgs[1], imgs[2], imgs[3], imgs[4]
	if err := s.b.SeparateFields(top, bottom, p.img); err != nil {
		return err
	}
	if err := s.b.Scale(sTop, top, s.scaler); err != nil {
		return err
	}
	if err := s.b.Scale(sBottom, bottom, s.scaler); err != nil {
		return err
	}
	if err := s.b.WeaveFields(dst, sTop, sBottom); err != nil {
		return err
	}
	for _, img := range []kernels.Image{p.img, top, bottom, sTop, sBottom} {
		s.b.Release(img)
	}
	p.img = dst
	return emit(p)
}

// pushViews is push on the CPU backend: each field is scaled straight from
// the lines of the source frame into the lines of the new one (FieldView),
// the same samples without the copies that separate and weave the fields.
func (s *fieldScaleStage) pushViews(p picture, src *kernels.Frame, emit func(picture) error) error {
	img, err := s.b.NewImage(s.out)
	if err != nil {
		return err
	}
	dst, ok := img.(*kernels.Frame)
	if !ok {
		return fmt.Errorf("the CPU backend made a %T, not a host frame", img)
	}
	for parity := 0; parity < 2; parity++ {
		from, err := src.FieldView(parity)
		if err != nil {
			return err
		}
		to, err := dst.FieldView(parity)
		if err != nil {
			return err
		}
		if err := s.b.Scale(to, from, s.scaler); err != nil {
			return err
		}
	}
	s.b.Release(p.img)
	p.img = dst
	return emit(p)
}

func (s *fieldScaleStage) end(func(picture) error) error { return nil }

// deinterlaceStage makes progressive pictures from interlaced ones: one per
// field (double rate) or one per frame. It needs each frame's neighbours, so
// it runs one frame behind its input.
type deinterlaceStage struct {
	b         kernels.Backend
	format    kernels.Format
	order     kernels.FieldOrder
	double    bool
	prev, cur *picture
}

func (s *deinterlaceStage) push(p picture, emit func(picture) error) error {
	if s.cur != nil {
		if err := s.process(p.img, emit); err != nil {
			return err
		}
	}
	if s.prev != nil {
		s.b.Release(s.prev.img)
	}
	s.prev, s.cur = s.cur, &p
	return nil
}

func (s *deinterlaceStage) end(emit func(picture) error) error {
	if s.cur == nil {
		return nil
	}
	return s.process(nil, emit)
}

func (s *deinterlaceStage) process(next kernels.Image, emit func(picture) error) error {
	var prev kernels.Image
	if s.prev != nil {
		prev = s.prev.img
	}
	fields := 1
	dur := s.cur.dur
	if s.double {
		fields, dur = 2, s.cur.dur/2
	}
	for f := 0; f < fields; f++ {
		dst, err := s.b.NewImage(s.format)
		if err != nil {
			return err
		}
		if err := s.b.Deinterlace(dst, prev, s.cur.img, next, s.order, f == 1); err != nil {
			return err
		}
		if err := emit(picture{img: dst, t: s.cur.t + float64(f)*dur, dur: dur}); err != nil {
			return err
		}
	}
	return nil
}

// rateStage makes pictures at exactly k/rate seconds from pictures at any
// times: by repeating the nearer (dup), blending the two around each output
// time (blend), or motion-compensated interpolation between them (mc).
type rateStage struct {
	b      kernels.Backend
	rate   sdi.Rational
	method kernels.FrameRateMethod
	format kernels.Format

	a      *picture
	k      int64
	until  float64         // where the source ends, when known (videoChain.end)
	motion *kernels.Motion // of the current pair, computed on first need
	prior  *kernels.Motion // of the previous pair, seeding the search
}

func (s *rateStage) at(k int64) float64 {
	return float64(k) * float64(s.rate.Den) / float64(s.rate.Num)
}

func (s *rateStage) period() float64 { return float64(s.rate.Den) / float64(s.rate.Num) }

// eps absorbs rounding in source timestamps (a 1/90000 clock against 1/25).
const eps = 1e-4

func (s *rateStage) push(b picture, emit func(picture) error) error {
	if s.a == nil {
		// Before the first picture: repeat it back to time zero.
		for s.at(s.k)+s.period()/2 < b.t {
			if err := s.emitCopy(b.img, emit); err != nil {
				return err
			}
		}
		s.a = &b
		return nil
	}
	a := *s.a
	span := b.t - a.t
	handedOn := false // a.img itself went downstream, which now owns it
	for s.at(s.k) < b.t-eps {
		phase := 0.0
		if span > 0 {
			phase = (s.at(s.k) - a.t) / span
		}
		// The last picture of this span that is a itself needs no copy:
		// the stage has no use for a once the span is done.
		last := s.at(s.k+1) >= b.t-eps
		var err error
		switch {
		case (phase <= eps || span <= 0 || s.method == kernels.MethodDup && phase < 0.5) && last:
			handedOn = true
			err = s.emitNext(a.img, emit)
		case phase <= eps || span <= 0:
			err = s.emitCopy(a.img, emit)
		case s.method == kernels.MethodDup && phase < 0.5:
			err = s.emitCopy(a.img, emit)
		case s.method == kernels.MethodDup:
			err = s.emitCopy(b.img, emit)
		default:
			err = s.emitBetween(a.img, b.img, phase, emit)
		}
		if err != nil {
			return err
		}
	}
	if !handedOn {
		s.b.Release(a.img)
	}
	s.a = &b
	if s.motion != nil {
		s.prior, s.motion = s.motion, nil
	}
	return nil
}

func (s *rateStage) end(emit func(picture) error) error {
	if s.a == nil {
		return nil
	}
	stop := max(s.a.t+s.a.dur, s.until)
	for s.at(s.k) < stop-s.period()/2 {
		if err := s.emitCopy(s.a.img, emit); err != nil {
			return err
		}
	}
	return nil
}

func (s *rateStage) emitCopy(src kernels.Image, emit func(picture) error) error {
	dst, err := s.b.NewImage(s.format)
	if err != nil {
		return err
	}
	// A copy is a crop of the whole picture.
	if err := s.b.Crop(dst, src, 0, 0); err != nil {
		return err
	}
	return s.emitNext(dst, emit)
}

func (s *rateStage) emitBetween(a, b kernels.Image, phase float64, emit func(picture) error) error {
	if s.method == kernels.MethodMC && s.motion == nil {
		m, err := s.b.EstimateMotion(a, b, s.prior)
		if err != nil {
			return err
		}
		s.motion = m
	}
	dst, err := s.b.NewImage(s.format)
	if err != nil {
		return err
	}
	if err := s.b.Interpolate(dst, a, b, s.motion, phase, s.method); err != nil {
		return err
	}
	return s.emitNext(dst, emit)
}

func (s *rateStage) emitNext(img kernels.Image, emit func(picture) error) error {
	p := picture{img: img, t: s.at(s.k), dur: s.period()}
	s.k++
	return emit(p)
}

// interlaceStage weaves pairs of progressive pictures into interlaced frames,
// the first field (top) from the first picture, through a vertical low-pass
// against twitter.
type interlaceStage struct {
	b      kernels.Backend
	format kernels.Format
	first  *picture
}

func (s *interlaceStage) push(p picture, emit func(picture) error) error {
	if s.first == nil {
		s.first = &p
		return nil
	}
	first := *s.first
	s.first = nil
	return s.weave(first, p, emit)
}

func (s *interlaceStage) end(emit func(picture) error) error {
	if s.first == nil {
		return nil
	}
	first := *s.first
	s.first = nil
	return s.weave(first, first, emit)
}

func (s *interlaceStage) weave(first, second picture, emit func(picture) error) error {
	dst, err := s.b.NewImage(s.format)
	if err != nil {
		return err
	}
	if err := s.b.Interlace(dst, first.img, second.img, kernels.TopFieldFirst, kernels.InterlaceLinear); err != nil {
		return err
	}
	s.b.Release(first.img)
	if second.img != first.img {
		s.b.Release(second.img)
	}
	return emit(picture{img: dst, t: first.t, dur: first.dur + second.dur})
}

// pulldownStage is 2:3 pulldown: four progressive frames (A B C D) become
// five interlaced TFF frames whose fields are At Ab | Bt Bb | Bt Cb | Ct Db |
// Dt Db, turning 23.976 frames into 29.97 frames without inventing pictures.
type pulldownStage struct {
	b      kernels.Backend
	format kernels.Format
	field  kernels.Format
	group  []picture
}

// pattern[i] says which input frame gives the top and bottom field of output
// frame i of a group.
var pulldownPattern = [5][2]int{{0, 0}, {1, 1}, {1, 2}, {2, 3}, {3, 3}}

func (s *pulldownStage) push(p picture, emit func(picture) error) error {
	s.group = append(s.group, p)
	if len(s.group) < 4 {
		return nil
	}
	return s.flushGroup(5, emit)
}

func (s *pulldownStage) end(emit func(picture) error) error {
	n := len(s.group)
	if n == 0 {
		return nil
	}
	for len(s.group) < 4 {
		s.group = append(s.group, s.group[len(s.group)-1])
	}
	return s.flushGroup(int(math.Round(float64(n)*5/4)), emit)
}

func (s *pulldownStage) flushGroup(outputs int, emit func(picture) error) error {
	g := s.group
	s.group = nil
	// Split each input frame into its fields once.
	tops, bottoms := make([]kernels.Image, 4), make([]kernels.Image, 4)
	for i, p := range g {
		imgs, err := newImages(s.b, s.field, s.field)
		if err != nil {
			return err
		}
		tops[i], bottoms[i] = imgs[0], imgs[1]
		if err := s.b.SeparateFields(tops[i], bottoms[i], p.img); err != nil {
			return err
		}
	}
	period := (g[0].dur * 4) / 5
	for i := 0; i < outputs; i++ {
		dst, err := s.b.NewImage(s.format)
		if err != nil {
			return err
		}
		pat := pulldownPattern[i]
		if err := s.b.WeaveFields(dst, tops[pat[0]], bottoms[pat[1]]); err != nil {
			return err
		}
		if err := emit(picture{img: dst, t: g[0].t + float64(i)*period, dur: period}); err != nil {
			return err
		}
	}
	released := map[kernels.Image]bool{}
	for i := range g {
		s.b.Release(tops[i])
		s.b.Release(bottoms[i])
		if !released[g[i].img] {
			released[g[i].img] = true
			s.b.Release(g[i].img)
		}
	}
	return nil
}

func newImages(b kernels.Backend, formats ...kernels.Format) ([]kernels.Image, error) {
	imgs := make([]kernels.Image, len(formats))
	for i, f := range formats {
		img, err := b.NewImage(f)
		if err != nil {
			for _, done := range imgs[:i] {
				b.Release(done)
			}
			return nil, err
		}
		imgs[i] = img
	}
	return imgs, nil
}

func scaleFilter(name string) kernels.ScaleFilter {
	if name == "bicubic" {
		return kernels.Bicubic
	}
	return kernels.Lanczos3
}

func rateMethod(name string) kernels.FrameRateMethod {
	switch name {
	case "dup":
		return kernels.MethodDup
	case "blend":
		return kernels.MethodBlend
	}
	return kernels.MethodMC
}

func fieldOrderOf(o sdi.FieldOrder) kernels.FieldOrder {
	if o == sdi.BottomFirst {
		return kernels.BottomFieldFirst
	}
	return kernels.TopFieldFirst
}

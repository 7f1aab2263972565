package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"

	"kiln/pipeline/internal/av"
)

// filterGraph runs one libavfilter chain between a buffer source and a sink.
// On the CPU backend it carries out the plan's video stages and all audio
// conversion (resampling, channel mapping, framing for the encoder).
type filterGraph struct {
	graph *astiav.FilterGraph
	src   *astiav.FilterContext
	sink  *astiav.FilterContext
}

// newVideoGraph builds a video chain fed with frames shaped like first.
func newVideoGraph(chain string, first *astiav.Frame, tb, rate astiav.Rational) (*filterGraph, error) {
	sar := first.SampleAspectRatio()
	if sar.Num() <= 0 || sar.Den() <= 0 {
		sar = astiav.NewRational(1, 1)
	}
	args := astiav.FilterArgs{
		"video_size":   fmt.Sprintf("%dx%d", first.Width(), first.Height()),
		"pix_fmt":      strconv.Itoa(int(first.PixelFormat())),
		"time_base":    tb.String(),
		"pixel_aspect": sar.String(),
	}
	if rate.Num() > 0 && rate.Den() > 0 {
		args["frame_rate"] = rate.String()
	}
	return newFilterGraph("buffer", "buffersink", args, chain)
}

// newAudioGraph builds an audio chain fed with frames shaped like first.
func newAudioGraph(chain string, first *astiav.Frame, tb astiav.Rational) (*filterGraph, error) {
	layout := first.ChannelLayout().String()
	if n := first.ChannelLayout().NbChannels(); strings.HasSuffix(layout, "channels") && n > 0 {
		// PCM in MXF and WAV often has a count but no layout; assume the
		// usual one for that count so that mixing and metering know the
		// speakers (two channels are a stereo pair, not two unknowns).
		layout = defaultLayout(n)
	}
	args := astiav.FilterArgs{
		"sample_rate":    strconv.Itoa(first.SampleRate()),
		"sample_fmt":     first.SampleFormat().Name(),
		"channel_layout": layout,
		"time_base":      tb.String(),
	}
	return newFilterGraph("abuffer", "abuffersink", args, chain)
}

// defaultLayout names the customary layout for a channel count.
func defaultLayout(n int) string {
	if name := map[int]string{1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}[n]; name != "" {
		return name
	}
	return fmt.Sprintf("%dc", n)
}

func newFilterGraph(srcName, sinkName string, args astiav.FilterArgs, chain string) (_ *filterGraph, err error) {
	if chain == "" {
		chain = "null"
		if srcName == "abuffer" {
			chain = "anull"
		}
	}
	g := &filterGraph{graph: astiav.AllocFilterGraph()}
	if g.graph == nil {
		return nil, errors.New("allocating a filter graph failed")
	}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	// Threads inside the graph: libavfilter slices the heavy filters (scale,
	// bwdif) itself, which on a small box beats adding goroutines around it.
	g.graph.SetThreadCount(0)
	if g.src, err = g.graph.NewFilterContext(astiav.FindFilterByName(srcName), "in", args); err != nil {
		return nil, fmt.Errorf("creating filter source: %w", err)
	}
	if g.sink, err = g.graph.NewFilterContext(astiav.FindFilterByName(sinkName), "out", nil); err != nil {
		return nil, fmt.Errorf("creating filter sink: %w", err)
	}
	outputs := astiav.AllocFilterInOut()
	defer outputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(g.src)
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)
	inputs := astiav.AllocFilterInOut()
	defer inputs.Free()
	inputs.SetName("out")
	inputs.SetFilterContext(g.sink)
	inputs.SetPadIdx(0)
	inputs.SetNext(nil)
	if err = g.graph.Parse(chain, inputs, outputs); err != nil {
		return nil, fmt.Errorf("parsing filter chain %q: %w", chain, err)
	}
	if err = g.graph.Configure(); err != nil {
		return nil, fmt.Errorf("configuring filter chain %q: %w", chain, err)
	}
	return g, nil
}

// end signals the end of the stream, which ends at pts (input time base).
func (g *filterGraph) end(pts int64) error { return av.CloseBufferSource(g.src, pts) }

// push sends a frame into the chain.
func (g *filterGraph) push(f *astiav.Frame) error {
	if err := g.src.BuffersrcAddFrame(f, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return fmt.Errorf("feeding filter chain: %w", err)
	}
	return nil
}

// pull takes every frame the chain has ready and hands it to emit. The frame is
// only valid during the call.
func (g *filterGraph) pull(out *astiav.Frame, emit func(*astiav.Frame) error) error {
	for {
		out.Unref()
		err := g.sink.BuffersinkGetFrame(out, astiav.NewBuffersinkFlags())
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading filter chain: %w", err)
		}
		if err := emit(out); err != nil {
			return err
		}
	}
}

// timeBase is the time base of the frames the chain emits.
func (g *filterGraph) timeBase() astiav.Rational {
	return g.sink.Inputs()[0].TimeBase()
}

func (g *filterGraph) Close() {
	if g.graph != nil {
		g.graph.Free()
		g.graph = nil
	}
}

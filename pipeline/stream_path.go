package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"kiln/kernels"
	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
	"kiln/sdi"

	"github.com/asticode/go-astiav"
)

// streamPath carries one source stream through decode → filter chain → encode.
// It runs on its own goroutine and owns every libav object it holds.
type streamPath struct {
	kind      string // video | audio
	input     *astiav.Stream
	dec       *astiav.CodecContext
	enc       *encoder
	output    *astiav.Stream
	chain     string          // audio: the libavfilter chain
	frameRate astiav.Rational // video: the source's

	graph *filterGraph // audio: built from the first decoded frame

	encName string // the encoder that runs: the plan's, or NVENC in its place
	encNote string // why it is not the one asked for, if it is not
	// nvdec is the decoder's NVDEC side (video, when it decodes through
	// libav's CUDA hwaccel); decNote says why NVDEC was asked for but not
	// used.
	nvdec   *nvdecFrames
	decNote string
	video   *videoPath // video: Kiln's kernel chain and what feeds it
	// sink, when set, takes every decoded (and stamped) frame instead of
	// video and enc, and nil at the end: an ABR job fans one decode out to
	// several encoders (abr_video.go).
	sink    func(*astiav.Frame) error
	packets chan *astiav.Packet
	// held is the latest MPEG-2 picture, kept back until the next one comes
	// or the encoder is drained, so that the last one can carry the
	// sequence_end_code (endSequence).
	held *astiav.Packet

	startTS  int64 // subtracted from every timestamp, in the input's time base
	nextPts  int64 // for frames that arrive without a timestamp
	frames   atomic.Int64
	corrupt  atomic.Int64
	lastEnd  atomic.Uint64 // float64 bits: end of the last decoded frame, seconds
	frameDur float64       // video: seconds per source frame
	// packetEnd is where the latest-ending packet demuxed so far ends
	// (pts + duration, relative to startTS, in the input's time base):
	// the container's word on where the stream ends, which the decoded
	// frames do not carry. 0 while no packet had both.
	packetEnd int64
}

func newVideoPath(in *inputFile, b kernels.Backend, v plan.VideoPlan, out *outputFile, gpu *gpuCodecs) (*streamPath, error) {
	s, err := in.stream(v.Input)
	if err != nil {
		return nil, err
	}
	p := &streamPath{kind: "video", input: s, packets: make(chan *astiav.Packet, 16)}
	p.frameRate = in.fc.GuessFrameRate(s, nil)
	if p.frameRate.Num() > 0 {
		p.frameDur = float64(p.frameRate.Den()) / float64(p.frameRate.Num())
	}
	p.video = &videoPath{plan: v, backend: b, outPixFmt: pixelFormat(v.PixFmt)}
	if p.dec, p.nvdec, p.decNote, err = openVideoDecoder(s, p.frameRate, gpu != nil && gpu.nvdec); err != nil {
		return nil, err
	}
	if p.enc, p.encName, p.encNote, err = openVideoEncoderPreferring(v, out.globalHeader(), gpu, "this rendition"); err != nil {
		p.Close()
		return nil, err
	}
	p.video.cuda = p.enc.cuda // NVENC on GPU frames: the chain's pictures stay on the device
	if p.output, err = newOutputStream(out, p.enc); err != nil {
		p.Close()
		return nil, err
	}
	rate := astiav.NewRational(v.FrameRate.Num, v.FrameRate.Den)
	p.output.SetSampleAspectRatio(astiav.NewRational(v.SAR.Num, v.SAR.Den))
	p.output.SetAvgFrameRate(rate)
	p.output.SetRFrameRate(rate)
	fieldOrder := "progressive"
	switch v.FieldOrder {
	case "tff":
		fieldOrder = "tt"
	case "bff":
		fieldOrder = "bb"
	}
	av.SetStreamSignalling(p.output.CodecParameters(), fieldOrder, v.ColorPrimaries, v.ColorTransfer, v.ColorSpace)
	return p, nil
}

func newAudioPath(in *inputFile, a plan.AudioPlan, gain string, out *outputFile) (*streamPath, error) {
	p, err := openAudioPath(in, a, gain, out.globalHeader())
	if err != nil {
		return nil, err
	}
	if p.output, err = newOutputStream(out, p.enc); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// openAudioPath opens an audio path's decoder, encoder and filter chain,
// with gain, the run's loudness filter for the track ("" for none). Its
// packets leave in the encoder's time base until an output stream is set.
func openAudioPath(in *inputFile, a plan.AudioPlan, gain string, globalHeader bool) (*streamPath, error) {
	s, err := in.stream(a.Input)
	if err != nil {
		return nil, err
	}
	p := &streamPath{kind: "audio", input: s, packets: make(chan *astiav.Packet, 64)}
	if p.dec, err = openDecoder(s, astiav.Rational{}); err != nil {
		return nil, err
	}
	if p.enc, err = openAudioEncoder(a, globalHeader); err != nil {
		p.Close()
		return nil, err
	}
	// async=1 stretches or pads by a few samples to follow the timestamps, and
	// first_pts=0 pads with silence when the audio starts after the video.
	p.chain = fmt.Sprintf("aresample=%d:async=1:first_pts=0,aformat=sample_fmts=%s:sample_rates=%d:channel_layouts=%s",
		a.SampleRate, p.enc.ctx.SampleFormat().Name(), a.SampleRate, a.Layout)
	if pad := a.PadFilter(); pad != "" {
		p.chain = strings.Replace(p.chain, ",aformat=", ","+pad+",aformat=", 1)
	}
	if gain != "" {
		// Gain after resampling, so the limiter works at the output rate.
		p.chain = strings.Replace(p.chain, ",aformat=", ","+gain+",aformat=", 1)
	}
	if a.Remix != "" {
		p.chain = a.Remix + "," + p.chain
	}
	if n := p.enc.ctx.FrameSize(); n > 0 {
		// Encoders with a fixed frame size (AAC 1024, MP2 1152, AC-3 1536)
		// want exactly that many samples per frame; the last one is padded.
		p.chain += fmt.Sprintf(",asetnsamples=n=%d:p=1", n)
	}
	return p, nil
}

func openDecoder(s *astiav.Stream, rate astiav.Rational) (*astiav.CodecContext, error) {
	params := s.CodecParameters()
	codec := astiav.FindDecoder(params.CodecID())
	if codec == nil {
		return nil, inputErrorf(nil, "no decoder for %s stream %d (codec %s)", params.MediaType(), s.Index(), params.CodecID().Name())
	}
	ctx := astiav.AllocCodecContext(codec)
	if ctx == nil {
		return nil, errors.New("allocating a decoder context failed")
	}
	if err := params.ToCodecContext(ctx); err != nil {
		ctx.Free()
		return nil, fmt.Errorf("configuring decoder: %w", err)
	}
	ctx.SetTimeBase(s.TimeBase())
	if params.MediaType() == astiav.MediaTypeVideo {
		ctx.SetFramerate(rate)
		ctx.SetThreadCount(0)
		ctx.SetThreadType(astiav.ThreadTypeFrame)
	}
	if err := ctx.Open(codec, nil); err != nil {
		ctx.Free()
		// EAGAIN here is pthread_create failing: no address space left for
		// the decoder's thread stacks.
		if isOutOfMemory(err) || errors.Is(err, astiav.ErrEagain) {
			return nil, fmt.Errorf("opening the %s decoder: %w", codec.Name(), errOutOfMemory)
		}
		return nil, inputErrorf(err, "cannot open the %s decoder for stream %d (%v)", codec.Name(), s.Index(), err)
	}
	return ctx, nil
}

func newOutputStream(out *outputFile, enc *encoder) (*astiav.Stream, error) {
	s := out.fc.NewStream(nil)
	if s == nil {
		return nil, errors.New("creating an output stream failed")
	}
	if err := s.CodecParameters().FromCodecContext(enc.ctx); err != nil {
		return nil, fmt.Errorf("copying encoder parameters to the output stream: %w", err)
	}
	s.SetTimeBase(enc.ctx.TimeBase())
	return s, nil
}

func (p *streamPath) setStart(start float64) {
	tb := p.input.TimeBase()
	p.startTS = int64(math.Round(start * float64(tb.Den()) / float64(tb.Num())))
}

// position is how far into the source this path has decoded, in seconds.
func (p *streamPath) position() float64 { return math.Float64frombits(p.lastEnd.Load()) }

// sourceEnd is where the decoded source ends, in seconds from the start:
// the end of its last decoded frame, or later where the container says
// that frame lasts longer than the stream's nominal frame duration.
func (p *streamPath) sourceEnd() float64 { return max(p.position(), p.demuxedEnd()) }

// noteDemuxed records where a packet of this stream ends.
func (p *streamPath) noteDemuxed(pkt *astiav.Packet) {
	if pkt.Pts() == astiav.NoPtsValue || pkt.Duration() <= 0 {
		return
	}
	p.packetEnd = max(p.packetEnd, pkt.Pts()+pkt.Duration()-p.startTS)
}

// demuxedEnd is where the stream's packets end, in seconds from the start;
// 0 when they carry no durations (most TS).
func (p *streamPath) demuxedEnd() float64 { return seconds(p.packetEnd, p.input.TimeBase()) }

// run consumes this path's packets until the demuxer closes the channel, then
// flushes the decoder, the filter chain and the encoder, in that order.
func (p *streamPath) run(ctx context.Context, muxed chan<- *astiav.Packet) (err error) {
	defer func() {
		// Free whatever the demuxer still queues after a failure.
		for pkt := range p.packets {
			pkt.Free()
		}
	}()
	decoded := astiav.AllocFrame()
	defer decoded.Free()
	filtered := astiav.AllocFrame()
	defer filtered.Free()
	encoded := astiav.AllocPacket()
	defer encoded.Free()
	if p.video != nil {
		// The video chain's goroutine encodes into encoded and sends to
		// muxed: it must have returned before either goes.
		defer p.video.stop()
	}

	encode := func(f *astiav.Frame, tb astiav.Rational) error { return p.encode(ctx, f, tb, encoded, muxed) }
	process := func(f *astiav.Frame) error {
		if f != nil {
			if err := p.stamp(f); err != nil {
				return err
			}
		}
		if p.sink != nil {
			return p.sink(f)
		}
		if p.video != nil {
			return p.video.process(f, p, func(out *astiav.Frame) error {
				p.frames.Add(1)
				return encode(out, p.enc.ctx.TimeBase())
			})
		}
		if p.graph == nil {
			if f == nil {
				return nil // nothing was ever decoded
			}
			if err := p.buildGraph(f); err != nil {
				return err
			}
		}
		if f == nil {
			if err := p.graph.end(p.nextPts); err != nil {
				return err
			}
		} else if err := p.graph.push(f); err != nil {
			return err
		}
		return p.graph.pull(filtered, func(out *astiav.Frame) error {
			return encode(out, p.graph.timeBase())
		})
	}

	for pkt := range p.packets {
		if ctx.Err() != nil {
			pkt.Free()
			return nil
		}
		p.noteDemuxed(pkt)
		err := p.decode(pkt, decoded, process)
		pkt.Free()
		if err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	// Flush: decoder, then filter chain, then encoder.
	if err := p.decode(nil, decoded, process); err != nil {
		return err
	}
	if err := process(nil); err != nil {
		return err
	}
	if p.enc == nil {
		return nil // the sink encodes
	}
	return encode(nil, astiav.Rational{})
}

// decode sends one packet (nil flushes) and processes every frame it yields.
// Corrupt packets are counted and concealed, as a playout chain would.
func (p *streamPath) decode(pkt *astiav.Packet, frame *astiav.Frame, process func(*astiav.Frame) error) error {
	if err := p.dec.SendPacket(pkt); err != nil {
		if isDataError(err) || errors.Is(err, astiav.ErrEof) {
			p.corrupt.Add(1)
			return nil
		}
		return fmt.Errorf("decoding %s: %w", p.kind, err)
	}
	for {
		frame.Unref()
		err := p.dec.ReceiveFrame(frame)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			if isDataError(err) {
				p.corrupt.Add(1)
				continue
			}
			return fmt.Errorf("decoding %s: %w", p.kind, err)
		}
		out := frame
		if p.nvdec != nil && frame.PixelFormat() == p.nvdec.pixFmt {
			if out, err = p.nvdec.download(frame); err != nil {
				return fmt.Errorf("decoding %s: %w", p.kind, err)
			}
		}
		if err := process(out); err != nil {
			return err
		}
	}
}

// decoderUse names the decoder that ran, for the report's backends
// ("libav h264 (nvdec)", "libav h264 (cpu)"), and says why NVDEC did not
// decode when it was asked to.
func (p *streamPath) decoderUse() (name string, notes []string) {
	codec := p.input.CodecParameters().CodecID().Name()
	if c := astiav.FindDecoder(p.input.CodecParameters().CodecID()); c != nil {
		codec = c.Name()
	}
	if p.decNote != "" {
		notes = append(notes, p.decNote)
	}
	if p.nvdec == nil {
		return "libav " + codec + " (cpu)", notes
	}
	if note := p.nvdec.softwareNote(codec); note != "" {
		return "libav " + codec + " (cpu)", append(notes, note)
	}
	return "libav " + codec + " (nvdec)", notes
}

// stamp gives a decoded frame a timestamp relative to the job's start.
func (p *streamPath) stamp(f *astiav.Frame) error {
	pts := av.FrameBestEffortPts(f)
	tb := p.input.TimeBase()
	if pts == astiav.NoPtsValue {
		pts = p.nextPts
	} else {
		pts -= p.startTS
	}
	var dur int64
	if p.kind == "audio" && f.SampleRate() > 0 {
		dur = astiav.RescaleQ(int64(f.NbSamples()), astiav.NewRational(1, f.SampleRate()), tb)
	} else if p.frameDur > 0 {
		dur = int64(math.Round(p.frameDur * float64(tb.Den()) / float64(tb.Num())))
	}
	p.nextPts = pts + dur
	f.SetPts(pts)
	p.lastEnd.Store(math.Float64bits(seconds(pts+dur, tb)))
	return nil
}

func (p *streamPath) buildGraph(first *astiav.Frame) (err error) {
	if p.graph, err = newAudioGraph(p.chain, first, p.input.TimeBase()); err != nil {
		return fmt.Errorf("audio processing: %w", err)
	}
	return nil
}

// encode sends one processed frame (nil flushes) to the encoder and forwards
// every packet it yields to the muxer.
func (p *streamPath) encode(ctx context.Context, f *astiav.Frame, tb astiav.Rational, pkt *astiav.Packet, muxed chan<- *astiav.Packet) error {
	if f != nil {
		f.SetPts(astiav.RescaleQ(f.Pts(), tb, p.enc.ctx.TimeBase()))
		// A decoded picture type would force the encoder's GOP to follow the
		// source's; the plan decides the GOP.
		f.SetPictureType(astiav.PictureTypeNone)
	}
	if err := p.enc.ctx.SendFrame(f); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("encoding %s: %w", p.kind, err)
	}
	for {
		pkt.Unref()
		err := p.enc.ctx.ReceivePacket(pkt)
		if errors.Is(err, astiav.ErrEof) && p.held != nil {
			return p.endSequence(ctx, muxed)
		}
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encoding %s: %w", p.kind, err)
		}
		if p.video != nil && p.video.plan.AFD != 0 {
			if err := p.writeAFD(pkt); err != nil {
				return err
			}
		}
		if p.output != nil {
			pkt.SetStreamIndex(p.output.Index())
			pkt.RescaleTs(p.enc.ctx.TimeBase(), p.output.TimeBase())
		}
		out := pkt.Clone()
		if p.enc.ctx.CodecID() == astiav.CodecIDMpeg2Video {
			// Only once the next picture comes is this one known not to
			// be the last.
			out, p.held = p.held, out
			if out == nil {
				continue
			}
		}
		select {
		case muxed <- out:
		case <-ctx.Done():
			out.Free()
			return nil
		}
	}
}

// endSequence sends the held last MPEG-2 picture, ended with a
// sequence_end_code: libavcodec's mpeg2video does not write one, and
// libmpeg2-based decoders drop the last pictures of a stream without it.
func (p *streamPath) endSequence(ctx context.Context, muxed chan<- *astiav.Packet) error {
	last := p.held
	p.held = nil
	if err := av.SetPacketData(last, sdi.EndMPEG2Sequence(last.Data())); err != nil {
		last.Free()
		return fmt.Errorf("ending the MPEG-2 sequence: %w", err)
	}
	select {
	case muxed <- last:
	case <-ctx.Done():
		last.Free()
	}
	return nil
}

func (p *streamPath) Close() {
	if p.held != nil {
		p.held.Free()
		p.held = nil
	}
	if p.graph != nil {
		p.graph.Close()
	}
	if p.video != nil {
		p.video.Close()
	}
	if p.enc != nil {
		p.enc.Close()
	}
	if p.dec != nil {
		if p.nvdec != nil {
			// Free does not clear the get_format callback, kept by the
			// context's address: a later context there would inherit it.
			p.dec.SetPixelFormatCallback(nil)
		}
		p.dec.Free()
		p.dec = nil
	}
	if p.nvdec != nil {
		p.nvdec.close()
	}
}

// writeAFD puts the plan's Active Format Description into an encoded picture.
func (p *streamPath) writeAFD(pkt *astiav.Packet) error {
	data := pkt.Data()
	var out []byte
	switch p.video.plan.Encoder {
	case "mpeg2video":
		out = sdi.InsertMPEG2AFD(data, p.video.plan.AFD)
	case "libx264":
		out = sdi.InsertH264AFD(data, p.video.plan.AFD)
	default:
		return nil
	}
	if len(out) == len(data) {
		return nil
	}
	return av.SetPacketData(pkt, out)
}

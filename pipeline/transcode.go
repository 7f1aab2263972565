package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"

	"kiln/job"
	"kiln/kernels"
	"kiln/pipeline/plan"
)

// transcodeStats is what the execution measured, for the report and checks.
type transcodeStats struct {
	VideoFrames   int64
	VideoEnd      float64 // seconds: end of the last source video frame decoded
	CorruptFrames int64   // packets the decoder rejected and concealed
	VideoEncoder  string  // the encoder that ran: the plan's, or NVENC in its place
	VideoDecoder  string  // the decoder that ran: "libav h264 (nvdec)", "libav h264 (cpu)"
	Warnings      []string
}

// transcode carries out a plan: demux → decode → process → encode → mux.
//
// Each stage is a goroutine joined to the next by a small bounded channel:
//
//	demux ──packets──> one path per stream (decode → filter chain → encode) ──packets──> mux
//
// so that decoding, processing, encoding and writing overlap. Nothing flows
// backwards, so the graph cannot deadlock; the first error cancels the rest.
//
// transcode reads from in, the opened source, and closes it.
func transcode(parent context.Context, b kernels.Backend, plan plan.Plan, run runState, in *inputFile, outPath string, duration float64, progress func(job.Progress)) (stats transcodeStats, err error) {
	defer in.Close()
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	out, err := openOutput(outPath, plan.Muxer)
	if err != nil {
		return stats, err
	}
	defer out.Close()

	// One path per selected source stream.
	video, err := newVideoPath(in, b, plan.Video, out, run.gpu)
	if err != nil {
		return stats, err
	}
	defer video.Close()
	paths := []*streamPath{video}
	for i, ap := range plan.Audio {
		p, err := newAudioPath(in, ap, run.gain(i), out)
		if err != nil {
			return stats, err
		}
		defer p.Close()
		paths = append(paths, p)
	}
	stats.VideoEncoder = video.encName
	if video.encNote != "" {
		stats.Warnings = append(stats.Warnings, video.encNote)
	}
	for _, p := range paths {
		for _, k := range p.enc.unused {
			stats.Warnings = append(stats.Warnings, fmt.Sprintf("encoder %s ignored option %q", p.enc.ctx.Class().Name(), k))
		}
	}
	if err := out.writeHeader(plan.MuxOptions); err != nil {
		return stats, err
	}
	// Every path measures time from the first video picture: the output's
	// video starts at zero, and audio keeps its offset to the pictures (its
	// filter chain trims audio from before the first picture and pads with
	// silence when the audio starts later).
	start := in.videoStart(video)
	for _, p := range paths {
		p.setStart(start)
	}

	muxed := make(chan *astiav.Packet, 64)
	var wg sync.WaitGroup
	fail := func(err error) { cancel(err) }

	// Demux.
	wg.Add(1)
	var demuxErr error
	go func() {
		defer wg.Done()
		defer func() {
			for _, p := range paths {
				close(p.packets)
			}
		}()
		demuxErr = in.demux(ctx, paths)
		if demuxErr != nil {
			fail(demuxErr)
		}
	}()

	// Stream paths.
	var pathsWG sync.WaitGroup
	for _, p := range paths {
		pathsWG.Add(1)
		go func() {
			defer pathsWG.Done()
			if err := p.run(ctx, muxed); err != nil {
				fail(err)
			}
		}()
	}
	go func() {
		pathsWG.Wait()
		close(muxed)
	}()

	// Mux, on this goroutine, with progress.
	began := time.Now()
	lastReport := time.Time{}
	var muxErr error
	for pkt := range muxed {
		if muxErr == nil {
			if werr := out.write(pkt); werr != nil {
				muxErr = werr
				fail(werr)
			}
		}
		pkt.Free()
		if progress != nil && time.Since(lastReport) > 500*time.Millisecond {
			lastReport = time.Now()
			frames := video.frames.Load()
			fps := float64(frames) / time.Since(began).Seconds()
			frac := 0.0
			if duration > 0 {
				frac = min(video.position()/duration, 0.99)
			}
			progress(job.Progress{Frames: frames, FPS: fps, Fraction: frac, Stage: "encode"})
		}
	}
	wg.Wait()

	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return stats, cause
	}
	if cause := context.Cause(parent); cause != nil {
		return stats, cause // the job's time limit, or a cancel
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	if err := out.writeTrailer(); err != nil {
		return stats, err
	}
	stats.VideoFrames = video.frames.Load()
	var decoderNotes []string
	stats.VideoDecoder, decoderNotes = video.decoderUse()
	stats.Warnings = append(stats.Warnings, decoderNotes...)
	stats.VideoEnd = video.sourceEnd()
	stats.CorruptFrames = video.corrupt.Load()
	for _, p := range paths[1:] {
		if n := p.corrupt.Load(); n > 0 {
			stats.Warnings = append(stats.Warnings, fmt.Sprintf("audio stream %d: %d corrupt packets concealed", p.input.Index(), n))
		}
	}
	if stats.CorruptFrames > 0 {
		stats.Warnings = append(stats.Warnings, fmt.Sprintf("video: %d corrupt packets concealed", stats.CorruptFrames))
	}
	if stats.VideoFrames == 0 {
		return stats, inputErrorf(nil, "no decodable video frames")
	}
	return stats, nil
}

// inputFile is an opened source.
type inputFile struct {
	fc   *astiav.FormatContext
	path string
}

func openInput(path string) (*inputFile, error) { return openInputStreams(path, nil) }

// openInputStreams opens a file to read only the streams listed (every one
// when only is nil): the others are discarded before libav probes the
// streams, so it neither decodes them to find their parameters nor hands out
// their packets. A loudness pass over an HD source then decodes no video.
func openInputStreams(path string, only []int) (*inputFile, error) {
	var keep func(*astiav.Stream) bool
	if only != nil {
		keep = func(s *astiav.Stream) bool { return slices.Contains(only, s.Index()) }
	}
	fc, err := openSource(path, nil, keep)
	if err != nil {
		return nil, err
	}
	return &inputFile{fc: fc, path: path}, nil
}

// pendingInput is a source being opened on a goroutine of its own.
type pendingInput struct {
	done chan struct{}
	in   *inputFile
	err  error
}

// openInputAsync starts opening a source, so that the caller can do other
// work meanwhile; wait returns the result.
func openInputAsync(path string) *pendingInput {
	p := &pendingInput{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.in, p.err = openInput(path)
	}()
	return p
}

func (p *pendingInput) wait() (*inputFile, error) {
	<-p.done
	return p.in, p.err
}

// discard waits for the opening and closes what it opened.
func (p *pendingInput) discard() {
	if in, err := p.wait(); err == nil {
		in.Close()
	}
}

func (in *inputFile) stream(index int) (*astiav.Stream, error) {
	for _, s := range in.fc.Streams() {
		if s.Index() == index {
			return s, nil
		}
	}
	return nil, fmt.Errorf("source stream %d not found", index)
}

func (in *inputFile) videoStart(video *streamPath) float64 {
	if st := video.input.StartTime(); st != astiav.NoPtsValue {
		return seconds(st, video.input.TimeBase())
	}
	return 0
}

// demux reads packets and hands each to its stream's path.
func (in *inputFile) demux(ctx context.Context, paths []*streamPath) error {
	byIndex := map[int]*streamPath{}
	for _, p := range paths {
		byIndex[p.input.Index()] = p
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for {
		if ctx.Err() != nil {
			return nil
		}
		err := in.fc.ReadFrame(pkt)
		if errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			if isDataError(err) || errors.Is(err, astiav.ErrEio) {
				return inputErrorf(err, "source unreadable after %.1f s", paths[0].position())
			}
			return fmt.Errorf("reading source: %w", err)
		}
		p, ok := byIndex[pkt.StreamIndex()]
		if !ok {
			pkt.Unref()
			continue
		}
		c := pkt.Clone()
		pkt.Unref()
		select {
		case p.packets <- c:
		case <-ctx.Done():
			c.Free()
			return nil
		}
	}
}

func (in *inputFile) Close() {
	in.fc.CloseInput()
	in.fc.Free()
}

// outputFile is the muxer writing the main output.
type outputFile struct {
	fc   *astiav.FormatContext
	io   *astiav.IOContext
	path string
}

func openOutput(path, muxer string) (*outputFile, error) {
	fc, err := astiav.AllocOutputFormatContext(nil, muxer, path)
	if err != nil {
		return nil, fmt.Errorf("creating %s muxer: %w", muxer, err)
	}
	if fc == nil {
		return nil, fmt.Errorf("muxer %s is not available in this libav build", muxer)
	}
	return &outputFile{fc: fc, path: path}, nil
}

func (o *outputFile) globalHeader() bool {
	return o.fc.OutputFormat().Flags().Has(astiav.IOFormatFlagGlobalheader)
}

func (o *outputFile) writeHeader(opts map[string]string) error {
	if !o.fc.OutputFormat().Flags().Has(astiav.IOFormatFlagNofile) {
		ioc, err := astiav.OpenIOContext(o.path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
		if err != nil {
			return fmt.Errorf("creating output file: %w", err)
		}
		o.io = ioc
		o.fc.SetPb(ioc)
	}
	dict := astiav.NewDictionary()
	defer dict.Free()
	for k, v := range opts {
		if err := dict.Set(k, v, 0); err != nil {
			return fmt.Errorf("setting muxer option %s: %w", k, err)
		}
	}
	if err := o.fc.WriteHeader(dict); err != nil {
		return fmt.Errorf("writing output header (%s): %w", muxOptionWords(opts), err)
	}
	return nil
}

func (o *outputFile) write(pkt *astiav.Packet) error {
	if err := o.fc.WriteInterleavedFrame(pkt); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

func (o *outputFile) writeTrailer() error {
	if err := o.fc.WriteTrailer(); err != nil {
		return fmt.Errorf("finishing output: %w", err)
	}
	return nil
}

func (o *outputFile) Close() {
	if o.io != nil {
		o.io.Close()
		o.io = nil
	}
	o.fc.Free()
}

func muxOptionWords(opts map[string]string) string { return strings.TrimSpace(optionWords(opts)) }

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/asticode/go-astiav"

	"kiln/job"
	"kiln/kernels"
	"kiln/packaging"
	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
	"kiln/sdi"
)

// abrEncode is what an ABR encode produced: the renditions with their
// tracks, and the stills for the thumbnails.
type abrEncode struct {
	stats transcodeStats
	rungs []*rungBranch
	avc   []packaging.AVCConfig
	audio []*abrAudio
	lead  float64 // seconds every package timeline is shifted by
	// reorder is the package's reorder delay in seconds (part of lead): how
	// far before its presentation every rung's keyframes are decoded.
	reorder float64
	stills  []packaging.Still
	poster  *image.YCbCr
}

// abrAudio is one audio rendition.
type abrAudio struct {
	plan     plan.AudioPlan
	name     string
	language string
	path     *streamPath
	writer   *renditionWriter
	tsTrack  *packaging.TSTrack
}

// config is the rendition's decoder configuration as the CMAF track saw it
// (AC-3's comes from its first frame), or from the encoder's extradata.
func (a *abrAudio) config() packaging.AudioConfig {
	if a.writer.cmafCfg.Audio != nil {
		return *a.writer.cmafCfg.Audio
	}
	return packaging.AudioConfig{Codec: a.plan.Encoder, SampleRate: a.plan.SampleRate, Channels: a.plan.Channels, Bitrate: a.plan.BitRate}
}

// transcodeABR decodes the source once and encodes every rung and audio
// track once, writing each rendition into every format of the package in
// dir:
//
//	demux ─┬─> video decode ─> abrVideo (shared chain, tee) ─┬─> rung 1: x264 ─> TS | CMAF | ISMV
//	       │                                                 ├─> rung 2: …
//	       │                                                 └─> thumbnails
//	       └─> audio decode ─> filter ─> AAC ─> TS | CMAF | ISMA
//
// Every stage is a goroutine joined by small bounded channels; the first
// error cancels the rest.
func transcodeABR(parent context.Context, b kernels.Backend, plan plan.Plan, run runState, srcPath, dir string, keys *packaging.KeySchedule,
	info job.MediaInfo, progress func(job.Progress)) (res *abrEncode, err error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	a := plan.ABR
	res = &abrEncode{}

	in, err := openInput(srcPath)
	if err != nil {
		return res, err
	}
	defer in.Close()

	vs, err := in.stream(plan.Video.Input)
	if err != nil {
		return res, err
	}
	vpath := &streamPath{kind: "video", input: vs, packets: make(chan *astiav.Packet, 16)}
	vpath.frameRate = in.fc.GuessFrameRate(vs, nil)
	if vpath.frameRate.Num() > 0 {
		vpath.frameDur = float64(vpath.frameRate.Den()) / float64(vpath.frameRate.Num())
	}
	if vpath.dec, vpath.nvdec, vpath.decNote, err = openVideoDecoder(vs, vpath.frameRate, run.gpu != nil && run.gpu.nvdec); err != nil {
		return res, err
	}
	defer vpath.Close()

	for i, ap := range plan.Audio {
		p, err := openAudioPath(in, ap, run.gain(i), true)
		if err != nil {
			return res, err
		}
		defer p.Close()
		name := "audio"
		if i > 0 {
			name = fmt.Sprintf("audio-%d", i+1)
		}
		lang := ""
		for _, s := range info.Streams {
			if s.Index == ap.Input {
				lang = s.Language
			}
		}
		res.audio = append(res.audio, &abrAudio{plan: ap, name: name, language: lang, path: p})
		// The audio encoder's priming (AAC: 1024 samples) is stamped before
		// zero; every package timeline starts that much later, together.
		res.lead = max(res.lead, float64(av.EncoderPriming(p.enc.ctx))/float64(ap.SampleRate))
	}

	abr, err := newABRVideo(ctx, b, a, vpath, plan.Video.Rotate)
	if err != nil {
		return res, err
	}
	defer abr.Close()
	vpath.sink = abr.process
	res.rungs = abr.rungs
	timescale := cmafTimescale(a.Rate)
	var encoders []string
	for i, r := range abr.rungs {
		// Each rung takes one of the job's NVENC sessions while they last;
		// the rest encode with x264, and the report says which and why.
		var note string
		what := fmt.Sprintf("rung %d (%s)", i+1, r.rung.Name)
		if r.enc, r.encName, note, err = openVideoEncoderPreferring(r.rung.Video, true, run.gpu, what); err != nil {
			return res, err
		}
		encoders = append(encoders, r.encName)
		if note != "" {
			res.stats.Warnings = append(res.stats.Warnings, note)
		}
		for _, k := range r.enc.unused {
			res.stats.Warnings = append(res.stats.Warnings, fmt.Sprintf("encoder %s ignored option %q", r.encName, k))
		}
	}
	// Every rung presents its pictures on one timeline: decode times are
	// stamped the package's reorder delay (the largest any rung's encoder
	// needs) before presentation, on every rung, and every track of every
	// format starts that much later, together with the audio, so that no
	// decode time falls before zero and no composition offset is negative.
	// Players read negative offsets differently (libavformat and GStreamer
	// each shift by the largest they have seen so far), so rungs whose
	// encoders reordered differently showed their IDRs at different times.
	//
	// The delay is counted in pictures of the shared rate and rounded up to
	// whole pictures of the slowest rung, so that it is a whole number of
	// ticks in every rung's time base.
	var reorder, step int64 = 0, 1
	for _, r := range abr.rungs {
		reorder = max(reorder, av.EncoderReorder(r.enc.ctx)*int64(r.rung.Step))
		step = max(step, int64(r.rung.Step))
	}
	reorder = (reorder + step - 1) / step * step
	res.reorder = float64(reorder) * float64(a.Rate.Den) / float64(a.Rate.Num)
	res.lead += res.reorder
	for _, r := range abr.rungs {
		avc, err := packaging.ParseAVCConfig(r.enc.ctx.ExtraData())
		if err != nil {
			return res, fmt.Errorf("rung %s: %w", r.rung.Name, err)
		}
		res.avc = append(res.avc, avc)
		outs, err := renditionFolders(dir, a, r.rung.Name, ".ismv", keys, res.lead, res.reorder)
		if err != nil {
			return res, err
		}
		cfg := packaging.TrackConfig{Kind: "video", Timescale: timescale, Lead: secondsToTicks(res.lead, timescale),
			Width: r.rung.Width, Height: r.rung.Height, SAR: sdi.Rational{Num: 1, Den: 1}, AVC: &avc}
		if r.writer, err = openRenditionWriter(r.rung.Name, r.enc, true, outs, cfg, r.rung.Bitrate); err != nil {
			return res, err
		}
		r.writer.step, r.writer.segFrames = r.rung.Step, a.GOP.SegmentFrames
		r.writer.reorder = reorder / int64(r.rung.Step)
	}
	for _, au := range res.audio {
		enc := au.path.enc
		cfg := packaging.TrackConfig{Kind: "audio", Timescale: uint32(au.plan.SampleRate),
			Lead: secondsToTicks(res.lead, uint32(au.plan.SampleRate)), Language: au.language}
		if au.plan.Encoder == "aac" {
			ac, err := packaging.ParseAAC(enc.ctx.ExtraData(), au.plan.BitRate)
			if err != nil {
				return res, fmt.Errorf("audio %s: %w", au.name, err)
			}
			cfg.Audio = &ac
		}
		outs, err := renditionFolders(dir, a, au.name, ".isma", keys, res.lead, res.reorder)
		if err != nil {
			return res, err
		}
		au.tsTrack = outs.tsTrack
		if au.writer, err = openRenditionWriter(au.name, enc, false, outs, cfg, au.plan.BitRate); err != nil {
			return res, err
		}
		defer au.writer.Close()
		au.writer.segSeconds, au.writer.sampleRate, au.writer.frameSize = a.GOP.Segment, au.plan.SampleRate, enc.ctx.FrameSize()
		au.writer.lastBoundary = videoDuration(info, plan.Video.Input) - a.GOP.Segment/4
	}

	paths := []*streamPath{vpath}
	for _, au := range res.audio {
		paths = append(paths, au.path)
	}
	start := in.videoStart(vpath)
	for _, p := range paths {
		p.setStart(start)
	}

	var wg sync.WaitGroup
	fail := func(err error) { cancel(err) }
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			for _, p := range paths {
				close(p.packets)
			}
		}()
		if err := in.demux(ctx, paths); err != nil {
			fail(err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer abr.closeRungs()
		if err := vpath.run(ctx, nil); err != nil {
			fail(err)
		}
	}()
	for _, r := range abr.rungs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.run(ctx); err != nil {
				fail(err)
			}
		}()
	}
	for _, au := range res.audio {
		packets := make(chan *astiav.Packet, 64)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(packets)
			if err := au.path.run(ctx, packets); err != nil {
				fail(err)
			}
		}()
		go func() {
			defer wg.Done()
			var werr error
			for pkt := range packets {
				if werr == nil && ctx.Err() == nil {
					if werr = au.writer.write(pkt); werr != nil {
						fail(werr)
					}
				}
				pkt.Free()
			}
			if werr == nil && ctx.Err() == nil {
				if err := au.writer.finish(); err != nil {
					fail(err)
				}
			}
		}()
	}

	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	began := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			if progress != nil {
				frames := abr.rungs[0].count.Load()
				frac := 0.0
				if info.Duration > 0 {
					frac = min(vpath.position()/info.Duration, 0.95)
				}
				progress(job.Progress{Frames: frames, FPS: float64(frames) / time.Since(began).Seconds(), Fraction: frac, Stage: "encode"})
			}
		}
	}

	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return res, cause
	}
	if cause := context.Cause(parent); cause != nil {
		return res, cause
	}
	res.stats.VideoFrames = abr.rungs[0].count.Load()
	res.stats.VideoEncoder = encoderSummary(encoders)
	var decoderNotes []string
	res.stats.VideoDecoder, decoderNotes = vpath.decoderUse()
	res.stats.Warnings = append(res.stats.Warnings, decoderNotes...)
	res.stats.VideoEnd = vpath.sourceEnd()
	res.stats.CorruptFrames = vpath.corrupt.Load()
	if res.stats.CorruptFrames > 0 {
		res.stats.Warnings = append(res.stats.Warnings, fmt.Sprintf("video: %d corrupt packets concealed", res.stats.CorruptFrames))
	}
	for _, au := range res.audio {
		if n := au.path.corrupt.Load(); n > 0 {
			res.stats.Warnings = append(res.stats.Warnings, fmt.Sprintf("audio stream %d: %d corrupt packets concealed", au.plan.Input, n))
		}
	}
	if res.stats.VideoFrames == 0 {
		return res, inputErrorf(nil, "no decodable video frames")
	}
	res.stills, res.poster = abr.stills, abr.poster
	return res, nil
}

// videoDuration is how long the source's video stream says it lasts, or
// the container when the stream does not say; a huge value when neither does.
func videoDuration(info job.MediaInfo, index int) float64 {
	for _, s := range info.Streams {
		if s.Index == index && s.Duration > 0 {
			return s.Duration
		}
	}
	if info.Duration > 0 {
		return info.Duration
	}
	return 1e12
}

// renditionFolders creates a rendition's folders in the package and says
// where each format goes.
func renditionFolders(dir string, a *plan.ABRPlan, name, smoothExt string, keys *packaging.KeySchedule, lead, reorder float64) (renditionOutputs, error) {
	outs := renditionOutputs{leadSecs: lead, reorderSecs: reorder}
	if a.Has("hls") {
		d := filepath.Join(dir, packaging.HLSFolder, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return outs, fmt.Errorf("creating HLS folder: %w", err)
		}
		outs.tsTrack = packaging.NewTSTrack(d, keys)
	}
	if a.Has("dash") {
		outs.cmafDir = filepath.Join(dir, packaging.CMAFFolder, name)
	}
	if a.Has("smooth") {
		outs.smooth = filepath.Join(dir, packaging.SmoothFolder, name+smoothExt)
	}
	return outs, nil
}

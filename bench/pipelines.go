package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kiln/config"
	"kiln/job"
	"kiln/pipeline"
	"kiln/pipeline/plan"
)

// slowPair is how long a pair of runs may take before it is not repeated.
const slowPair = 90 * time.Second

// pipelineCase is one job run by both tools.
type pipelineCase struct {
	name    string
	profile string // in the harness's config
	source  string // a clip name
}

var pipelineCases = []pipelineCase{
	{name: "1080i25 → PAL MPEG-2 TS", profile: "pal", source: "src-1080i25.ts"},
	{name: "1080p23.976 → NTSC MPEG-2 TS (3:2 pulldown)", profile: "ntsc", source: "src-1080p23976.mov"},
	{name: "1080p23.976 → 4-rung HLS", profile: "hls", source: "src-1080p23976.mov"},
}

// benchConfig is the kilnd config of the pipelines and the daemon: the
// demo's PAL profile, its NTSC twin, and an ABR ladder of four rungs
// (video_bitrate, 1/2, 1/4, 1/8: the contract's ladder).
// submitRoots, for the daemon, are the folders the API may read sources from.
func benchConfig(stateDir, socket string, submitRoots ...string) string {
	roots := ""
	if len(submitRoots) > 0 {
		quoted := make([]string, len(submitRoots))
		for i, r := range submitRoots {
			quoted[i] = strconv.Quote(r)
		}
		roots = "submit_roots = [" + strings.Join(quoted, ", ") + "]\n"
	}
	return fmt.Sprintf(`# Written by go run ./bench.
[daemon]
state_dir = %q
socket    = %q
cpu_jobs  = 1
`+roots+`
[profile.pal]
kind          = "broadcast"
standard      = "pal"
codec         = "mpeg2"
aspect        = "16:9"
fit           = "letterbox"
container     = "ts"
video_bitrate = "8M"
audio         = { codec = "mp2", bitrate = "256k", loudness = -23.0 }

[profile.ntsc]
kind          = "broadcast"
standard      = "ntsc"
codec         = "mpeg2"
aspect        = "16:9"
fit           = "letterbox"
container     = "ts"
video_bitrate = "8M"
audio         = { codec = "mp2", bitrate = "256k", loudness = -23.0 }

[profile.hls]
kind          = "abr"
formats       = ["hls"]
video_bitrate = "2400k"
segment       = "4s"
package       = "dir"
`, stateDir, socket)
}

func (h *harness) pipelines(ctx context.Context) error {
	cfgPath := filepath.Join(h.runDir, "kiln.toml")
	if err := os.WriteFile(cfgPath, []byte(benchConfig(filepath.Join(h.runDir, "state"), filepath.Join(h.runDir, "kiln.sock"))), 0o644); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	for _, c := range pipelineCases {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(h.log, "-- %s\n", c.name)
		r, err := h.pipeline(ctx, c, cfg, cfgPath)
		if err != nil {
			// One broken pair must not hide the others' figures.
			r.Status, r.Reason = "failed", err.Error()
			fmt.Fprintf(h.log, "  failed: %v\n", err)
		}
		h.res.Pipelines = append(h.res.Pipelines, r)
	}
	return nil
}

func (h *harness) pipeline(ctx context.Context, c pipelineCase, cfg *config.Config, cfgPath string) (PipelineResult, error) {
	r := PipelineResult{Name: c.name, Profile: c.profile, Source: c.source, SourceDesc: clips[c.source].desc}
	src, err := h.source(ctx, c.source)
	if err != nil {
		return r, err
	}
	info, err := pipeline.Probe(src)
	if err != nil {
		return r, err
	}
	r.Duration = info.Duration
	profile, ok := cfg.Profile(c.profile)
	if !ok {
		return r, fmt.Errorf("profile %q missing from the bench config", c.profile)
	}
	dir := filepath.Join(h.runDir, c.profile)

	kiln := &ToolRun{}
	var ff *ToolRun
	for rep := 0; rep < h.reps; rep++ {
		out := filepath.Join(dir, fmt.Sprintf("kiln-%d", rep))
		m, err := h.exec(ctx, c.profile+" kiln", h.kilnd, "transcode", "--config", cfgPath, "--profile", c.profile, src, out)
		if err != nil {
			return r, fmt.Errorf("%w: %s", err, kilnReason(m.Stderr))
		}
		report, err := readReport(m.Stdout)
		if err != nil {
			return r, err
		}
		frames := int(report.Timings.Frames)
		if profile.Kind == "abr" {
			// Every rung is made from each source frame; count those, as
			// the ffmpeg side does.
			_, frames = sourceRate(info)
		}
		kiln.add(m, frames, info.Duration)
		if rep == 0 {
			r.Plan = report.Plan
			kiln.Commands = []string{m.Command}
			for _, o := range report.Outputs {
				kiln.Outputs = append(kiln.Outputs, o.Path)
			}
		}

		// The same job by ffmpeg, right after, so both meet the same load.
		run, err := h.ffmpegJob(ctx, c, profile, info, src, filepath.Join(dir, fmt.Sprintf("ffmpeg-%d", rep)))
		if err != nil {
			return r, err
		}
		if ff == nil {
			ff = run
		} else {
			ff.merge(run)
		}
		if kiln.WallSeconds+ff.WallSeconds > slowPair.Seconds() && rep+1 < h.reps {
			// A long pair is long enough to be timed once; repeating it
			// would cost the run minutes for little.
			kiln.Note = fmt.Sprintf("Timed once: the pair took over %.0f s.", slowPair.Seconds())
			break
		}
	}
	if profile.Kind == "abr" {
		kiln.Note = strings.TrimSpace(kiln.Note + " Kiln's package also holds what the ffmpeg command does not make: " +
			"I-frame playlists, a poster frame and a SHA256SUMS manifest, and its playlists carry measured bandwidths.")
	}
	r.Kiln, r.FFmpeg = kiln, ff
	r.SpeedRatio = kiln.FPS / ff.FPS
	fmt.Fprintf(h.log, "  kiln %.1f fps (%.2fx realtime)  ffmpeg %.1f fps (%.2fx realtime)  speed ratio %.2f\n",
		kiln.FPS, kiln.Realtime, ff.FPS, ff.Realtime, r.SpeedRatio)

	if err := h.pipelineQuality(ctx, c, &r, profile, info, src, dir); err != nil {
		return r, fmt.Errorf("measuring quality: %w", err)
	}
	r.Status = "ok"
	return r, nil
}

// add folds one run in: the fastest counts, and all walls are kept.
func (t *ToolRun) add(m measured, frames int, seconds float64) {
	t.AllWall = append(t.AllWall, round3(m.Wall))
	if t.WallSeconds == 0 || m.Wall < t.WallSeconds {
		t.WallSeconds, t.CPUSeconds, t.Frames = m.Wall, m.CPU, frames
		t.FPS = float64(frames) / m.Wall
		t.Realtime = seconds / m.Wall
	}
	t.PeakRSS = max(t.PeakRSS, m.MaxRSS)
}

func (t *ToolRun) merge(o *ToolRun) {
	t.AllWall = append(t.AllWall, o.AllWall...)
	if o.WallSeconds < t.WallSeconds {
		t.WallSeconds, t.CPUSeconds, t.Frames, t.FPS, t.Realtime = o.WallSeconds, o.CPUSeconds, o.Frames, o.FPS, o.Realtime
	}
	t.PeakRSS = max(t.PeakRSS, o.PeakRSS)
}

// ffmpegJob does the job with the ffmpeg CLI: a loudness measurement pass
// per track that Kiln normalises (and the correction passes Kiln's limiter
// rule takes), then one encode pass. Its time is the sum of the passes.
// Kiln's figure also includes verifying its output; this one does not.
func (h *harness) ffmpegJob(ctx context.Context, c pipelineCase, profile *config.Profile, info job.MediaInfo, src, dir string) (*ToolRun, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if profile.Kind == "abr" {
		return h.ffmpegHLS(ctx, profile, info, src, dir)
	}
	plan, err := plan.Make(info, *profile, src)
	if err != nil {
		return nil, fmt.Errorf("Kiln's planner: %w", err)
	}
	label := c.profile + " ffmpeg"
	var total measured
	var commands []string
	pass := func(argv []string) (measured, error) {
		m, err := h.exec(ctx, label, argv...)
		total.Wall += m.Wall
		total.CPU += m.CPU
		total.MaxRSS = max(total.MaxRSS, m.MaxRSS)
		commands = append(commands, m.Command)
		return m, err
	}
	gains := make([]string, len(plan.Audio))
	for i, a := range plan.Audio {
		if a.Loudness == nil {
			continue
		}
		measure := func(pre string) (loudness, error) {
			chain := "aresample=48000,ebur128=peak=true"
			if pre != "" {
				chain = pre + "," + chain
			}
			m, err := pass([]string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-i", src, "-map", fmt.Sprintf("0:%d", a.Input),
				"-af", chain, "-f", "null", "-"})
			if err != nil {
				return loudness{}, err
			}
			return parseEBUR128(m.Stderr)
		}
		withRemix := func(chain string) string {
			if a.Remix == "" {
				return chain
			}
			if chain == "" {
				return a.Remix
			}
			return a.Remix + "," + chain
		}
		l, err := measure(withRemix(""))
		if err != nil {
			return nil, err
		}
		chain, gain, limited := loudnessGain(l.integrated, l.truePeak, *a.Loudness)
		if limited {
			// Kiln's rule: the limiter takes loudness off the peaks it
			// holds down, so measure the result and correct, a few rounds.
			for round := 0; round < 3; round++ {
				after, err := measure(withRemix(chain))
				if err != nil {
					return nil, err
				}
				miss := *a.Loudness - after.integrated
				if math.Abs(miss) < 0.2 {
					break
				}
				gain += miss
				chain = limitedGain(gain)
			}
		}
		gains[i] = chain
	}
	out := filepath.Join(dir, plan.OutputName)
	args, err := ffmpegEncodeArgs(plan, src, out, gains)
	if err != nil {
		return nil, err
	}
	m, err := pass(append([]string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y"}, args...))
	if err != nil {
		return nil, err
	}
	t := &ToolRun{Commands: commands, Outputs: []string{out}}
	t.add(total, ffmpegFrames(m.Stderr), info.Duration)
	return t, nil
}

// pipelineQuality scores both tools' pictures against one reference: the
// source through the plan's geometry by libavfilter, with no coding at all.
func (h *harness) pipelineQuality(ctx context.Context, c pipelineCase, r *PipelineResult, profile *config.Profile, info job.MediaInfo, src, dir string) error {
	if profile.Kind == "abr" {
		return h.hlsQuality(ctx, r, src, dir)
	}
	plan, err := plan.Make(info, *profile, src)
	if err != nil {
		return err
	}
	vf, err := ffmpegVideoFilter(plan.Video)
	if err != nil {
		return err
	}
	ref := filepath.Join(dir, "reference.yuv")
	if _, err := h.exec(ctx, c.profile+" reference", "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", src,
		"-map", fmt.Sprintf("0:%d", plan.Video.Input), "-vf", vf, "-r", plan.Video.FrameRate.String(), "-f", "rawvideo", ref); err != nil {
		return err
	}
	r.Reference = "source → " + vf + " (libavfilter, no coding), rawvideo"
	refIn := []string{"-f", "rawvideo", "-pix_fmt", plan.Video.PixFmt, "-s", fmt.Sprintf("%dx%d", plan.Video.Width, plan.Video.Height),
		"-r", plan.Video.FrameRate.String(), "-i", ref}
	if q, err := h.referenceAgreement(ctx, c.profile+" reference check", plan, src, dir, refIn); err != nil {
		r.AgreementNote = err.Error()
	} else {
		r.Agreement = q
		fmt.Fprintf(h.log, "  reference check: Kiln's kernels, uncoded, vs the reference: PSNR-Y %.2f dB, all planes %.2f dB\n", q.PSNRY, q.PSNRAll)
	}
	for _, t := range []*ToolRun{r.Kiln, r.FFmpeg} {
		q, err := h.compare(ctx, c.profile+" quality", []string{"-i", t.Outputs[0]}, refIn, plan.Video.PixFmt)
		if err != nil {
			return err
		}
		t.Quality = q
	}
	fmt.Fprintf(h.log, "  quality vs reference: kiln PSNR-Y %.2f dB SSIM %.4f, ffmpeg PSNR-Y %.2f dB SSIM %.4f\n",
		r.Kiln.Quality.PSNRY, r.Kiln.Quality.SSIMAll, r.FFmpeg.Quality.PSNRY, r.FFmpeg.Quality.SSIMAll)
	os.Remove(ref)
	return nil
}

var (
	psnrRE = regexp.MustCompile(`PSNR y:([0-9.inf]+) u:[0-9.inf]+ v:[0-9.inf]+ average:([0-9.inf]+)`)
	ssimRE = regexp.MustCompile(`SSIM Y:([0-9.]+) .* All:([0-9.]+)`)
)

// compare runs ffmpeg's psnr and ssim filters over two inputs, aligned by
// their first pictures and stopping at the shorter.
func (h *harness) compare(ctx context.Context, label string, a, b []string, pixFmt string) (*Quality, error) {
	graph := fmt.Sprintf("[0:v]setpts=PTS-STARTPTS,format=%[1]s,split[a1][a2];[1:v]setpts=PTS-STARTPTS,format=%[1]s,split[b1][b2];"+
		"[a1][b1]psnr=shortest=1[p];[a2][b2]ssim=shortest=1,nullsink", pixFmt)
	argv := append([]string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats"}, a...)
	argv = append(argv, b...)
	argv = append(argv, "-lavfi", graph, "-map", "[p]", "-f", "null", "-")
	m, err := h.exec(ctx, label, argv...)
	if err != nil {
		return nil, err
	}
	return parseQuality(m.Stderr)
}

func parseQuality(stderr []byte) (*Quality, error) {
	p := psnrRE.FindSubmatch(stderr)
	s := ssimRE.FindSubmatch(stderr)
	if p == nil || s == nil {
		return nil, fmt.Errorf("no PSNR/SSIM summary in ffmpeg's output:\n%s", lastLines(string(stderr), 8))
	}
	q := &Quality{Frames: ffmpegFrames(stderr)}
	q.PSNRY = parseDB(p[1])
	q.PSNRAll = parseDB(p[2])
	q.SSIMY, _ = strconv.ParseFloat(string(s[1]), 64)
	q.SSIMAll, _ = strconv.ParseFloat(string(s[2]), 64)
	return q, nil
}

// parseDB reads a PSNR; identical pictures read "inf", which JSON cannot
// carry, so they are capped at 100 dB.
func parseDB(b []byte) float64 {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) {
		return 100
	}
	return v
}

type loudness struct{ integrated, truePeak float64 }

var (
	ebuIRE    = regexp.MustCompile(`(?s)Integrated loudness:\s+I:\s+(-?[0-9.]+|-inf) LUFS`)
	ebuPeakRE = regexp.MustCompile(`(?s)True peak:\s+Peak:\s+(-?[0-9.]+|-inf) dBFS`)
)

// parseEBUR128 reads the summary ebur128 prints at the end.
func parseEBUR128(stderr []byte) (loudness, error) {
	i := ebuIRE.FindSubmatch(stderr)
	p := ebuPeakRE.FindSubmatch(stderr)
	if i == nil || p == nil {
		return loudness{}, fmt.Errorf("no ebur128 summary in ffmpeg's output:\n%s", lastLines(string(stderr), 8))
	}
	l := loudness{integrated: silenceLUFS, truePeak: silenceLUFS}
	if v, err := strconv.ParseFloat(string(i[1]), 64); err == nil {
		l.integrated = math.Max(v, silenceLUFS)
	}
	if v, err := strconv.ParseFloat(string(p[1]), 64); err == nil {
		l.truePeak = v
	}
	return l, nil
}

// readReport finds "report: PATH" in kilnd transcode's output and reads it.
func readReport(stdout []byte) (*job.Report, error) {
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "report: "); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			var r job.Report
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if len(r.Outputs) == 0 {
				return nil, fmt.Errorf("%s lists no outputs", p)
			}
			return &r, nil
		}
	}
	return nil, errors.New("kilnd transcode printed no report path")
}

// kilnReason is the reason kilnd transcode gave for a failed job.
func kilnReason(stderr []byte) string {
	for _, line := range strings.Split(strings.ReplaceAll(string(stderr), "\r", "\n"), "\n") {
		if _, reason, ok := strings.Cut(line, " failed: "); ok && strings.HasPrefix(line, "kilnd transcode:") {
			return reason
		}
	}
	return lastLines(string(stderr), 3)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

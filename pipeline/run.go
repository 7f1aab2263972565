// Package pipeline is what one job does. It probes the source, plans the job
// from the probe and the profile, then carries the plan out through libav
// (go-astiav): demux → decode → process → encode → mux, into a staging folder.
// It verifies what it wrote, writes the report, and publishes the outputs.
//
// All libav cgo lives here. The daemon must not import this package: it runs
// jobs in kiln-worker child processes so that a crash in libav on a hostile
// file fails one job, not the appliance.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kiln/job"
	"kiln/kernels"
	"kiln/pipeline/plan"
	"kiln/staging"
	"kiln/version"
)

// jobTimeLimit is how long a job on a source of duration seconds may run: 2
// minutes (opening, probing, verifying take time whatever the length) plus
// factor times the duration. A variable so that a test can shorten it.
var jobTimeLimit = func(factor int, duration float64) time.Duration {
	return 2*time.Minute + time.Duration(float64(factor)*duration*float64(time.Second))
}

// Run executes one job end to end: probe, plan, transcode into staging, verify,
// write the report and publish. On success the outputs and the report are in
// <output root>/<source name>/<profile>/. On failure nothing is published, and
// the returned report (when not nil) says how far the job got.
func Run(ctx context.Context, spec job.Spec, progress func(job.Progress)) (*job.Report, error) {
	return RunOn(ctx, kernels.CPU(), spec, progress)
}

// RunOn is Run with the video kernels on backend b: the CPU build, or the
// CUDA backend in the GPU worker.
func RunOn(ctx context.Context, b kernels.Backend, spec job.Spec, progress func(job.Progress)) (*job.Report, error) {
	began := time.Now()
	report := &job.Report{
		Kiln: version.Version, JobID: spec.ID, Profile: spec.Profile.Name, Source: spec.Source,
		Backends: map[string]string{}, Warnings: []string{}, Checks: []job.Check{},
	}
	report.Timings.Started = began.UTC()
	report.BackendNote = spec.BackendNote
	if spec.OutputNote != "" {
		report.Warnings = append(report.Warnings, spec.OutputNote)
	}

	info, err := Probe(spec.Source)
	if err != nil {
		return report, err
	}
	report.SourceProbe = info

	plan, err := plan.Make(info, spec.Profile, spec.Source)
	if err != nil {
		return report, err
	}
	if f := spec.Limits.TimeoutFactor; f > 0 {
		// A job's run time is bounded by its source's length: a file that
		// decodes forever (a broken index, a hostile stream) stops here.
		limit := jobTimeLimit(f, info.Duration)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, limit, &InputError{
			Reason: fmt.Sprintf("stopped after %s, the limit for a %.1f s source (2 min + %d × its duration)",
				limit.Round(time.Millisecond), info.Duration, f)})
		defer cancel()
		// kilnd enforces the limit too (worker_stall_timeout later), for
		// a worker stuck where this timer cannot stop it.
		if progress != nil {
			progress(job.Progress{Stage: "plan", TimeLimitSeconds: limit.Seconds()})
		}
	}
	report.Plan = plan.Decisions
	report.Warnings = append(report.Warnings, plan.Warnings...)
	report.Backends = map[string]string{
		"decode":        "libav (cpu)",
		"video_process": b.Name() + " (kiln kernels)",
		"video_encode":  plan.Video.Encoder,
		"mux":           plan.Muxer,
	}
	if len(plan.Audio) > 0 {
		report.Backends["audio_encode"] = plan.Audio[0].Encoder
	}
	gpu := newGPUCodecs(spec, b)
	if plan.ABR != nil {
		return runABR(ctx, b, spec, info, plan, gpu, report, began, progress)
	}

	need := estimateOutputBytes(plan, info.Duration)
	if err := checkFreeSpace(spec.OutputRoot, need); err != nil {
		return report, err
	}
	name := spec.OutputFolder()
	stage, err := staging.New(spec.OutputRoot, name, spec.Profile.Name, spec.ID)
	if err != nil {
		return report, err
	}
	stage.Mode = spec.PublishMode()
	published := false
	defer func() {
		if !published {
			stage.Discard()
		}
	}()

	// Opening the source for the transcode (libav probes its streams once
	// more) needs nothing from the loudness pass: it runs beside it.
	opening := openInputAsync(spec.Source)
	measured, err := measureGains(spec.Source, plan, report)
	if err != nil {
		opening.discard()
		return report, err
	}
	run := runState{gpu: gpu, audio: measured}
	in, err := opening.wait()
	if err != nil {
		return report, err
	}
	outPath := stage.File(plan.OutputName)
	stats, err := transcode(ctx, b, plan, run, in, outPath, info.Duration, progress)
	report.Warnings = append(report.Warnings, stats.Warnings...)
	setCodecBackends(report, stats)
	if err != nil {
		if isNoSpace(err) {
			return report, &SpaceError{Dir: spec.OutputRoot, Need: need, DuringTheWrite: true}
		}
		return report, err
	}
	if err := checkTruncation(info, stats); err != nil {
		return report, err
	}
	if progress != nil {
		progress(job.Progress{Frames: stats.VideoFrames, Fraction: 0.99, Stage: "verify"})
	}

	// The loudness check decodes the output's audio on its own, and only it
	// writes to report: it runs beside the other checks, on the other core.
	var loudChecks []job.Check
	var loudErr error
	loudDone := make(chan struct{})
	go func() {
		defer close(loudDone)
		loudChecks, loudErr = verifyLoudness(outPath, run, report)
	}()
	out, checks, err := verifyOutput(outPath, plan, stats)
	<-loudDone
	if err != nil {
		return report, err
	}
	if err := loudErr; err != nil {
		return report, err
	}
	checks = append(checks, loudChecks...)
	report.Checks = checks
	out.Path = stage.FinalFile(plan.OutputName)
	report.Outputs = []job.Output{out}

	if quarantined, err := sealReport(stage, name, report, began, stats.VideoFrames); err != nil {
		published = quarantined
		return report, err
	}
	if err := stage.Publish(); err != nil {
		return report, err
	}
	published = true
	return report, nil
}

// sealReport stamps the report's timings, writes it into staging as
// S.kiln.json, and fails the job when a check failed: such outputs are never
// published but kept aside, with their report, for an engineer
// (quarantined says the staging folder moved there).
func sealReport(stage *staging.Dir, name string, report *job.Report, began time.Time, frames int64) (quarantined bool, err error) {
	finished := time.Now()
	report.Timings.Finished = finished.UTC()
	report.Timings.Seconds = finished.Sub(began).Seconds()
	report.Timings.Frames = frames
	if s := report.Timings.Seconds; s > 0 {
		report.Timings.EncodeFPS = math.Round(float64(frames)/s*10) / 10
	}
	if err := writeReport(stage.File(name+".kiln.json"), report); err != nil {
		return false, err
	}
	failed := failedChecks(report.Checks)
	if len(failed) == 0 {
		return false, nil
	}
	reason := "output failed verification: " + strings.Join(failed, "; ")
	where, err := stage.Quarantine()
	if err == nil {
		reason += " (quarantined in " + where + ")"
	}
	return err == nil, &ProfileError{Reason: reason}
}

// SourceName is the source file name without its extension: the S of
// <output>/S/P/ and S.kiln.json.
func SourceName(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// checkTruncation compares how much video decoded with what the container
// promises. Only containers with an index state a duration worth trusting.
func checkTruncation(info job.MediaInfo, stats transcodeStats) error {
	trusted := false
	for _, f := range []string{"mov", "mp4", "matroska", "mxf", "avi"} {
		if strings.Contains(info.Format, f) {
			trusted = true
		}
	}
	if !trusted || info.Duration <= 0 {
		return nil
	}
	if stats.VideoEnd < info.Duration-math.Max(1.0, 0.02*info.Duration) {
		return inputErrorf(nil, "truncated at %.1f s (the file says %.1f s)", stats.VideoEnd, info.Duration)
	}
	return nil
}

func writeReport(path string, r *job.Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// runState is what a job is granted and learns as it runs, beside its plan,
// which stays as plan.Make returned it.
type runState struct {
	// gpu is what the job may use of the GPU's video engines: NVENC for as
	// many H.264/HEVC renditions as it holds sessions, NVDEC for decoding.
	// It comes from the job spec (it depends on the machine and on the
	// other jobs); nil when the job asks for neither.
	gpu *gpuCodecs
	// audio holds what the measurement of the source found for each of
	// the plan's audio tracks (measureGains).
	audio []measuredTrack
}

// measuredTrack is what the loudness pass learnt of one audio track.
type measuredTrack struct {
	// gain is the loudness filter the measurement chose; "" leaves the
	// track's level alone.
	gain string
	// samples is the track's length at 48 kHz as the pass heard it: a
	// track shorter than a gating block is verified over that length.
	samples int64
}

// gain is the loudness filter for the plan's audio track i, or "".
func (r runState) gain(i int) string {
	if i < len(r.audio) {
		return r.audio[i].gain
	}
	return ""
}

// measuredSamples is the plan's audio track i's measured length, or 0.
func (r runState) measuredSamples(i int) int64 {
	if i < len(r.audio) {
		return r.audio[i].samples
	}
	return 0
}

// measureGains measures the source's audio tracks that have a loudness
// target and returns the gain filter each needs, one per plan.Audio track.
func measureGains(source string, plan plan.Plan, report *job.Report) ([]measuredTrack, error) {
	tracks := make([]measuredTrack, len(plan.Audio))
	var streams []int
	remix := map[int]string{}
	for _, a := range plan.Audio {
		if a.Loudness != nil {
			streams = append(streams, a.Input)
			// The padding too: silence at the end lowers a short track's
			// integrated loudness, and the gain is for what the output carries.
			// And the downmix: a 5.1 source going to a stereo output
			// is measured as the stereo it becomes.
			remix[a.Input] = joinFilters(a.Remix, a.PadFilter(), "aformat=channel_layouts="+a.Layout)
		}
	}
	if len(streams) == 0 {
		return tracks, nil
	}
	measured, err := measureLoudness(source, streams, remix, nil)
	if err != nil {
		return nil, err
	}
	for i, a := range plan.Audio {
		if a.Loudness == nil {
			continue
		}
		m := measured[a.Input]
		chain, gain := loudnessFilter(m, *a.Loudness)
		if strings.Contains(chain, "alimiter") {
			// The limiter takes loudness off the peaks it holds down; measure
			// the result on the source and correct the gain, a few rounds.
			for round := 0; round < 3; round++ {
				pre := joinFilters(a.Remix, a.PadFilter(), "aformat=channel_layouts="+a.Layout, chain)
				after, err := measureLoudness(source, []int{a.Input}, map[int]string{a.Input: pre}, nil)
				if err != nil {
					return nil, err
				}
				miss := *a.Loudness - after[a.Input].Integrated
				if math.Abs(miss) < 0.2 {
					break
				}
				gain += miss
				chain = limitedGain(gain)
			}
		}
		tracks[i] = measuredTrack{gain: chain, samples: m.Samples}
		report.Loudness = append(report.Loudness, job.Loudness{
			Track: i + 1, Target: *a.Loudness, Before: round2(m.Integrated), TruePeakBefore: round2(m.TruePeak),
			GainDB: round2(gain), Limited: strings.Contains(chain, "alimiter"),
		})
		switch {
		case m.Integrated > silence:
		case m.Samples > 0 && m.Samples < shortestMeasured:
			report.Warnings = append(report.Warnings, fmt.Sprintf("audio track %d lasts %.0f ms, too short to measure its loudness (100 ms at least); its level was left alone", i+1, float64(m.Samples)/48))
		default:
			report.Warnings = append(report.Warnings, fmt.Sprintf("audio track %d is silent; its level was left alone", i+1))
		}
	}
	return tracks, nil
}

// joinFilters chains the non-empty libavfilter steps.
func joinFilters(steps ...string) string {
	var kept []string
	for _, s := range steps {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, ",")
}

// verifyLoudness measures the output's tracks again: within 1 LU of the
// target, and true peaks under the ceiling.
func verifyLoudness(out string, run runState, report *job.Report) ([]job.Check, error) {
	if len(report.Loudness) == 0 {
		return nil, nil
	}
	info, err := Probe(out)
	if err != nil {
		return nil, err
	}
	audios := info.AudioStreams()
	var streams []int
	lengths := map[int]int64{}
	for i, a := range audios {
		streams = append(streams, a.Index)
		lengths[a.Index] = run.measuredSamples(i)
	}
	measured, err := measureLoudness(out, streams, nil, lengths)
	if err != nil {
		return nil, err
	}
	var checks []job.Check
	for i := range report.Loudness {
		l := &report.Loudness[i]
		if l.Track > len(audios) {
			continue
		}
		m := measured[audios[l.Track-1].Index]
		l.After, l.TruePeakAfter = round2(m.Integrated), round2(m.TruePeak)
		if l.Before <= silence {
			continue
		}
		checks = append(checks,
			job.Check{Name: fmt.Sprintf("audio %d loudness", l.Track), Expected: fmt.Sprintf("%.1f LUFS ± 1", l.Target),
				Actual: fmt.Sprintf("%.1f LUFS", m.Integrated), Pass: math.Abs(m.Integrated-l.Target) <= 1},
			job.Check{Name: fmt.Sprintf("audio %d true peak", l.Track), Expected: fmt.Sprintf("≤ %.1f dBTP", truePeakCeiling+1),
				Actual: fmt.Sprintf("%.1f dBTP", m.TruePeak), Pass: m.TruePeak <= truePeakCeiling+1})
	}
	return checks, nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// estimateOutputBytes is what a plan's outputs will take, with a margin for
// container overhead and encoders that run over their rate.
func estimateOutputBytes(plan plan.Plan, duration float64) int64 {
	rate := plan.Video.BitRate
	if plan.MuxRate > 0 {
		rate = plan.MuxRate
	}
	if rate <= 0 {
		// Quality-based codecs (ProRes, FFV1): assume 12 bits a pixel a second.
		rate = int64(plan.Video.Width*plan.Video.Height) * 12 * int64(math.Ceil(plan.Video.FrameRate.Float()))
	}
	for _, a := range plan.Audio {
		if a.BitRate > 0 {
			rate += a.BitRate
		} else {
			rate += int64(a.SampleRate * a.Channels * 24)
		}
	}
	return int64(float64(rate) / 8 * duration * 1.15)
}

// checkFreeSpace refuses a job that obviously will not fit, before it spends
// an hour finding out.
func checkFreeSpace(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil // cannot tell; the write itself will say
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if need > free {
		return &SpaceError{Dir: dir, Need: need, Free: free}
	}
	return nil
}

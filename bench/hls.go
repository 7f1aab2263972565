package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"kiln/config"
	"kiln/job"
	"kiln/pipeline"
	"kiln/pipeline/plan"
)

// The ABR pair. The ffmpeg side is Kiln's ABR plan written as one ffmpeg
// command: the shared stages, then per rung the scale and the x264 encode
// with the rung's own options, one AAC track in an audio group, and the
// hls muxer at the plan's segment length. Kiln's master playlist is read
// only to find its top rung for the quality comparison.

// rung is one variant of an HLS master playlist.
type rung struct {
	width, height int
	bandwidth     int64
	uri           string // media playlist, absolute
}

// hlsLadder finds the master playlist under dir and reads its variants,
// largest first.
func hlsLadder(dir string) ([]rung, string, error) {
	var master string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".m3u8") || master != "" {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "#EXT-X-STREAM-INF") {
			master = p
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if master == "" {
		return nil, "", fmt.Errorf("no HLS master playlist under %s", dir)
	}
	f, err := os.Open(master)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	var rungs []rung
	var pending *rung
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			r := rung{}
			for _, attr := range splitAttrs(strings.TrimPrefix(line, "#EXT-X-STREAM-INF:")) {
				k, v, _ := strings.Cut(attr, "=")
				switch k {
				case "BANDWIDTH":
					r.bandwidth, _ = strconv.ParseInt(v, 10, 64)
				case "RESOLUTION":
					w, hh, _ := strings.Cut(v, "x")
					r.width, _ = strconv.Atoi(w)
					r.height, _ = strconv.Atoi(hh)
				}
			}
			pending = &r
		case pending != nil && line != "" && !strings.HasPrefix(line, "#"):
			pending.uri = filepath.Join(filepath.Dir(master), line)
			rungs = append(rungs, *pending)
			pending = nil
		}
	}
	// A variant without a picture size is audio only.
	rungs = slices.DeleteFunc(rungs, func(r rung) bool { return r.width == 0 || r.height == 0 })
	if len(rungs) == 0 {
		return nil, "", fmt.Errorf("%s lists no video variants", master)
	}
	sort.Slice(rungs, func(i, j int) bool { return rungs[i].bandwidth > rungs[j].bandwidth })
	return rungs, master, nil
}

// splitAttrs splits an attribute list at commas outside quotes.
func splitAttrs(s string) []string {
	var out []string
	quoted, start := false, 0
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// ffmpegABRArgs spells an ABR plan's HLS output as one ffmpeg command.
func ffmpegABRArgs(plan plan.Plan, src, dir string) ([]string, error) {
	a := plan.ABR
	if a == nil || len(a.Rungs) == 0 {
		return nil, fmt.Errorf("the plan has no ladder")
	}
	shared, err := stageFilters(a.Shared, "yuv420p")
	if err != nil {
		return nil, err
	}
	var graph strings.Builder
	graph.WriteString("[0:v]")
	if len(shared) > 0 {
		graph.WriteString(strings.Join(shared, ",") + ",")
	}
	fmt.Fprintf(&graph, "split=%d", len(a.Rungs))
	for i := range a.Rungs {
		fmt.Fprintf(&graph, "[s%d]", i)
	}
	for i, r := range a.Rungs {
		v := r.Video
		f := []string{fmt.Sprintf("scale=%d:%d:flags=%s:%s", v.Width, v.Height, swsFlags(v.ScaleFilter), leftSited)}
		if !sameRational(v.FrameRate, a.Rate) {
			// A half-rate rung keeps every other picture.
			f = append(f, "fps="+v.FrameRate.String())
		}
		f = append(f, fmt.Sprintf("setsar=%d/%d", max(v.SAR.Num, 1), max(v.SAR.Den, 1)), "format="+v.PixFmt)
		fmt.Fprintf(&graph, ";[s%d]%s[v%d]", i, strings.Join(f, ","), i)
	}
	args := []string{"-i", src, "-filter_complex", graph.String()}
	var streamMap []string
	for i, r := range a.Rungs {
		v := r.Video
		args = append(args, "-map", fmt.Sprintf("[v%d]", i), fmt.Sprintf("-c:v:%d", i), v.Encoder)
		for _, k := range slices.Sorted(maps.Keys(v.Options)) {
			args = append(args, fmt.Sprintf("-%s:v:%d", k, i), v.Options[k])
		}
		if v.ColorPrimaries != "" {
			args = append(args, fmt.Sprintf("-color_primaries:v:%d", i), v.ColorPrimaries, fmt.Sprintf("-color_trc:v:%d", i), v.ColorTransfer,
				fmt.Sprintf("-colorspace:v:%d", i), v.ColorSpace)
		}
		streamMap = append(streamMap, fmt.Sprintf("v:%d,agroup:aud", i))
	}
	for i, ap := range plan.Audio {
		args = append(args, "-map", fmt.Sprintf("0:%d", ap.Input), fmt.Sprintf("-filter:a:%d", i), audioChain(ap, ""),
			fmt.Sprintf("-c:a:%d", i), ap.Encoder, fmt.Sprintf("-ar:a:%d", i), fmt.Sprint(ap.SampleRate))
		if ap.BitRate > 0 {
			args = append(args, fmt.Sprintf("-b:a:%d", i), fmt.Sprint(ap.BitRate))
		}
		streamMap = append(streamMap, fmt.Sprintf("a:%d,agroup:aud", i))
	}
	segment := a.GOP.Segment
	if segment <= 0 {
		return nil, fmt.Errorf("the plan has no segment length")
	}
	args = append(args, "-f", "hls", "-hls_time", strconv.FormatFloat(segment, 'f', -1, 64), "-hls_playlist_type", "vod",
		"-hls_segment_filename", filepath.Join(dir, "stream%v_%03d.ts"), "-master_pl_name", "master.m3u8",
		"-var_stream_map", strings.Join(streamMap, " "), filepath.Join(dir, "stream%v.m3u8"))
	return args, nil
}

func (h *harness) ffmpegHLS(ctx context.Context, p *config.Profile, info job.MediaInfo, src, dir string) (*ToolRun, error) {
	plan, err := plan.Make(info, *p, src)
	if err != nil {
		return nil, fmt.Errorf("Kiln's planner: %w", err)
	}
	args, err := ffmpegABRArgs(plan, src, dir)
	if err != nil {
		return nil, err
	}
	m, err := h.exec(ctx, "hls ffmpeg", append([]string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y"}, args...)...)
	if err != nil {
		return nil, err
	}
	_, frames := sourceRate(info)
	t := &ToolRun{Commands: []string{m.Command}, Outputs: []string{filepath.Join(dir, "master.m3u8")}}
	t.add(m, frames, info.Duration)
	return t, nil
}

// hlsQuality scores the top rung of each ladder against the source scaled
// to that rung's size.
func (h *harness) hlsQuality(ctx context.Context, r *PipelineResult, src, dir string) error {
	kilnRungs, _, err := hlsLadder(kilnJobDir(r.Kiln.Outputs[0]))
	if err != nil {
		return err
	}
	ffRungs, _, err := hlsLadder(filepath.Dir(r.FFmpeg.Outputs[0]))
	if err != nil {
		return err
	}
	top := kilnRungs[0]
	ref := filepath.Join(dir, "reference.yuv")
	vf := fmt.Sprintf("scale=%d:%d:flags=lanczos:%s,format=yuv420p", top.width, top.height, leftSited)
	if _, err := h.exec(ctx, "hls reference", "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", src,
		"-map", "0:v:0", "-vf", vf, "-f", "rawvideo", ref); err != nil {
		return err
	}
	defer os.Remove(ref)
	info, err := pipeline.Probe(src)
	if err != nil {
		return err
	}
	rate, _ := sourceRate(info)
	refIn := []string{"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", top.width, top.height),
		"-r", strconv.FormatFloat(rate, 'f', -1, 64), "-i", ref}
	r.Reference = fmt.Sprintf("top rung only: source → %s (libavfilter, no coding), rawvideo", vf)
	for _, pair := range []struct {
		t   *ToolRun
		uri string
	}{{r.Kiln, top.uri}, {r.FFmpeg, ffRungs[0].uri}} {
		q, err := h.compare(ctx, "hls quality", []string{"-i", pair.uri}, refIn, "yuv420p")
		if err != nil {
			return err
		}
		pair.t.Quality = q
	}
	return nil
}

// kilnJobDir is the folder of a Kiln job's outputs, given one of them.
func kilnJobDir(output string) string {
	if st, err := os.Stat(output); err == nil && st.IsDir() {
		return output
	}
	return filepath.Dir(output)
}

// sourceRate is the source video's frame rate and its frame count.
func sourceRate(info job.MediaInfo) (float64, int) {
	v := info.VideoStreams()
	if len(v) == 0 {
		return 0, 0
	}
	num, den, ok := strings.Cut(v[0].FrameRate, "/")
	n, _ := strconv.ParseFloat(num, 64)
	d := 1.0
	if ok {
		d, _ = strconv.ParseFloat(den, 64)
	}
	if n <= 0 || d <= 0 {
		return 0, 0
	}
	rate := n / d
	return rate, int(math.Round(info.Duration * rate))
}

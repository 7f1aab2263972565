package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
)

// markdown renders latest.md: the targets first, then each section with its
// method, table, chart and command lines.
func (h *harness) markdown(charts map[string]string) string {
	r := h.res
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Kiln against the ffmpeg CLI\n\n")
	p("Written by `go run ./bench` (`make bench`) on %s in %.0f s. Host: %s, %d cores, Linux %s, load average %s at the start; %s; %s; %s.\n\n",
		r.Generated.Format("2006-01-02 15:04 UTC"), r.Seconds, r.Host.CPU, r.Host.Cores, r.Host.Kernel, r.Host.LoadStart, r.Host.FFmpeg, orDash(r.Host.Kiln), r.Host.Go)
	p("Every figure below was measured in this one run, on this machine, with both tools given the same input one after the other. "+
		"The machine is shared, so absolute figures move from run to run; the ratios between tools of the same run are what count. "+
		"Each timed run was repeated %d times and the best counts (the fastest is the one least disturbed by other work). "+
		"No GPU figure appears here: this machine has none, and the kernels ran on the CPU backend.\n\n", h.reps)

	if len(r.Targets) > 0 {
		p("## Targets\n\n| target | goal | measured | result |\n|---|---|---|---|\n")
		for _, t := range r.Targets {
			verdict := "not judged"
			if t.Judged && t.Met {
				verdict = "met"
			} else if t.Judged {
				verdict = "**missed**"
			}
			p("| %s | %s | %s | %s |\n", t.Name, t.Goal, orDash(t.Measured), verdict)
		}
		p("\n")
		var missed []Target
		for _, t := range r.Targets {
			if t.Judged && !t.Met {
				missed = append(missed, t)
			}
		}
		if len(missed) > 0 {
			p("### What limits the missed targets\n\n")
			for _, t := range missed {
				p("- **%s**: %s", t.Name, t.Limits)
				if top := h.profileSummary(t.Name); top != "" {
					p(" Top of the profile: %s.", top)
				}
				p("\n")
			}
			p("\nThe profiles themselves are at the end of this file.\n\n")
		}
	}

	if len(r.Kernels) > 0 {
		p("## 1. Kernels: Kiln's CPU backend against libavfilter\n\n")
		p("Kiln's kernels run in process (`kernels.CPU()`, rows split across %d goroutines) on frames read from a raw yuv420p file; "+
			"ffmpeg runs the equivalent filter on the same file (`-f rawvideo … -vf loop=…,FILTER -f null -`: the frames are read once and replayed from memory for about %.1f s). "+
			"ffmpeg's time is what `-benchmark` reports for the transcode loop, less the same run with `null` in the filter's place, "+
			"so reading and replaying raw frames is subtracted and decoding never enters. Both sides use every core: "+
			"libavfilter slices the filters that support it (bwdif, colormatrix, interlace); and the scale filter slices swscale's work. "+
			"Mpix/s counts output luma samples per second; \"cores busy\" is CPU time over wall time. "+
			"Material: a pan across a detailed still with a box crossing the other way (see Pipelines).\n\n", r.Host.Cores, kernelTime.Seconds())
		p("| kernel | size | input → output | Kiln Mpix/s | ffmpeg Mpix/s | Kiln / ffmpeg | cores busy Kiln / ffmpeg | ffmpeg filter |\n|---|---|---|---:|---:|---:|---:|---|\n")
		for _, k := range r.Kernels {
			note := ""
			if k.Note != "" {
				note = " (†)"
			}
			p("| %s | %s | %s → %s | %.1f | %.1f%s | %.2f× | %.2f / %.2f | `%s` |\n", k.Kernel, k.Size, k.Input, k.Output,
				k.KilnMpixS, k.FFmpegMpixS, note, k.Ratio, k.KilnCPUUse, k.FFmpegCPUUse, k.FFmpegFilter)
		}
		for _, k := range r.Kernels {
			if k.Note != "" {
				p("\n† %s.\n", k.Note)
				break
			}
		}
		p("\n%s\n", chartLink(charts, "kernels"))
	}

	if len(r.Pipelines) > 0 {
		p("## 2. Pipelines: `kilnd transcode` against ffmpeg on the same source\n\n")
		p("Kiln's side is the whole `kilnd transcode` process: probe, plan, loudness measurement, decode → kernels → encode → mux, "+
			"then verification of the output (probe, loudness measured again, SHA-256) and publishing. "+
			"ffmpeg's side is Kiln's own plan (`plan.Make` on the same probe and profile) written as ffmpeg command lines, stage for stage: "+
			"a loudness measurement pass (`ebur128`) per normalised track, then one encode pass with the gain it found, the same filters, "+
			"encoder options and muxer options. Its time is the sum of its passes and leaves out verification, so the ratio is, if anything, kind to ffmpeg. "+
			"fps is output frames per second of wall time; \"× realtime\" is source seconds per wall second. "+
			"Peak RSS is each process's VmHWM, sampled every 20 ms while it runs (for ffmpeg, the largest of its passes). "+
			"`ru_maxrss` is no use here: Go starts children with vfork, and Linux counts the parent's peak into the child's `ru_maxrss`.\n\n"+
			"Quality: both outputs are compared with one reference, the source taken through the plan's stages by libavfilter "+
			"(the `-vf` chain of the ffmpeg command) with no coding, as raw video; ffmpeg's `psnr` and `ssim` filters score each output against it "+
			"over all frames. So that the reference has Kiln's geometry and not swscale's defaults, the ffmpeg chain names Kiln's chroma siting "+
			"(left, vertically centred) and converts the colour matrix with `colormatrix`. Each run checks this: the first %d source frames go "+
			"through Kiln's kernels with the plan's stages and no coding, and are scored against the reference (\"reference check\" under each job). "+
			"Two renderings of one geometry agree far above the coding loss; a reference that favoured one tool would not.\n\n", agreementFrames)
		p("| job | Kiln fps | Kiln × realtime | ffmpeg fps | ffmpeg × realtime | speed Kiln / ffmpeg | PSNR-Y dB Kiln / ffmpeg | SSIM Kiln / ffmpeg | peak RSS MiB Kiln / ffmpeg |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, pr := range r.Pipelines {
			if pr.Status != "ok" {
				p("| %s | %s | | | | | | | |\n", pr.Name, pr.Status)
				continue
			}
			k, f := pr.Kiln, pr.FFmpeg
			p("| %s | %.1f | %.2f | %.1f | %.2f | **%.2f×** | %s / %s | %s / %s | %.0f / %.0f |\n", pr.Name, k.FPS, k.Realtime, f.FPS, f.Realtime, pr.SpeedRatio,
				qPSNR(k.Quality), qPSNR(f.Quality), qSSIM(k.Quality), qSSIM(f.Quality), mib(k.PeakRSS), mib(f.PeakRSS))
		}
		p("\n%s\n", chartLink(charts, "pipelines"))
		for _, pr := range r.Pipelines {
			p("### %s\n\n", pr.Name)
			p("Source `%s`: %s.\n\n", pr.Source, pr.SourceDesc)
			if pr.Status != "ok" {
				p("**%s**: %s\n\n", pr.Status, pr.Reason)
				continue
			}
			if len(pr.Plan) > 0 {
				p("Kiln's plan:\n\n")
				for _, line := range pr.Plan {
					p("- %s\n", line)
				}
				p("\n")
			}
			p("Timed runs (s): Kiln %s; ffmpeg %s. Kiln used %.1f CPU-s, ffmpeg %.1f CPU-s (best runs). %s\n\n",
				joinFloats(pr.Kiln.AllWall), joinFloats(pr.FFmpeg.AllWall), pr.Kiln.CPUSeconds, pr.FFmpeg.CPUSeconds, pr.Kiln.Note)
			if pr.Reference != "" {
				p("Reference: %s.", pr.Reference)
				if q := pr.Agreement; q != nil {
					p(" Reference check (Kiln's kernels, uncoded, first %d frames): PSNR-Y %.2f dB, all planes %.2f dB, SSIM %.4f.", q.Frames, q.PSNRY, q.PSNRAll, q.SSIMAll)
				} else if pr.AgreementNote != "" {
					p(" Reference check not run: %s.", pr.AgreementNote)
				}
				p("\n\n")
			}
			p("```sh\n# Kiln\n%s\n# ffmpeg\n%s\n```\n\n", strings.Join(h.relAll(pr.Kiln.Commands), "\n"), strings.Join(h.relAll(pr.FFmpeg.Commands), "\n"))
		}
	}

	if len(r.FRC) > 0 {
		p("## 3. Frame-rate conversion: drop and rebuild\n\n")
		p("A 50p clip (the detailed pan with a box crossing the other way, so that background is covered and uncovered) loses every other " +
			"picture; each method rebuilds the dropped ones from the 25p that is left, and is scored by ffmpeg's `psnr`/`ssim` against the dropped originals " +
			"(every method on the same frames: minterpolate stops short of the clip's end). Kiln runs in process on the raw frames, as its frame_rate stage does: " +
			"per pair, copy the kept picture, estimate motion (seeded by the previous pair's), interpolate at phase 0.5. " +
			"ffmpeg runs `minterpolate` on the same raw 25p file; its time is `-benchmark`'s less an `fps=50` run writing as many frames. " +
			"fps counts output (50p) frames per second of processing.\n\n")
		p("| size | method | tool | fps | PSNR-Y dB | SSIM | frames scored | cores busy | call |\n|---|---|---|---:|---:|---:|---:|---:|---|\n")
		for _, f := range r.FRC {
			fps, cores := "not timed", ""
			if f.Timed {
				fps, cores = fmt.Sprintf("%.2f", f.FPS), fmt.Sprintf("%.2f", f.CPUUse)
			}
			p("| %s | %s | %s | %s | %s | %s | %d | %s | `%s` |\n", f.Size, f.Method, f.Tool, fps, qPSNR(f.Quality), qSSIM(f.Quality), f.Rebuilt, cores, f.Call)
		}
		p("\n%s\n", chartLink(charts, "frc"))
	}

	if s := r.Store; s != nil {
		p("## 4. Job store\n\n")
		p("`daemon/store` in process, on both of its backends: a SQLite file in `%s` (%s), with the store's own settings (WAL, synchronous=FULL, BEGIN IMMEDIATE; "+
			"concurrent writers share a transaction and its fsync, each in its own savepoint), and a private PostgreSQL server whose data folder is on the same filesystem (%s). "+
			"Each job is `AddSource` (one job), `Claim`, `Finish(done)` with a `{}` report; %d jobs per scenario. "+
			"Concurrent claimers poll again at once when the queue is empty. Claim latency is the duration of each successful `Claim` call, enqueue latency that of each `AddSource`. "+
			"Operations per commit counts the writers sharing each SQLite transaction, empty claims included. "+
			"\"Cores busy\" is the bench process's CPU time over wall time, and the PostgreSQL server's beside it. "+
			"fsync of 4 KiB on the same filesystem: p50 %.3f ms, p99 %.3f ms.\n\n", s.Path, s.FS, s.Postgres, storeJobs, s.FsyncP50, s.FsyncP99)
		p("| store | scenario | jobs/s | claim p50 ms | claim p99 ms | enqueue p50 ms | empty polls | cores busy (process / server) | operations per commit |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, sc := range s.Scenarios {
			server, shared := "-", "-"
			if sc.Backend == "PostgreSQL" {
				server = fmt.Sprintf("%.2f", sc.ServerCPUPerWall)
			}
			if sc.OpsPerCommit > 0 {
				shared = fmt.Sprintf("%.2f", sc.OpsPerCommit)
			}
			p("| %s | %s | %.0f | %.2f | %.2f | %.2f | %d | %.2f / %s | %s |\n", sc.Backend, sc.Name, sc.JobsPerSec, sc.ClaimP50, sc.ClaimP99, sc.EnqueueP50,
				sc.EmptyClaims, sc.CPUPerWall, server, shared)
		}
		p("\n%s\n", chartLink(charts, "store"))
	}

	if m := r.Memory; m != nil {
		p("## 5. Memory\n\n")
		p("The daemon was started with a config of its own (`%s`), its socket polled until `GET /v1/health` answered, and after %.0f s idle "+
			"its `/proc/PID/status` read: VmRSS **%.1f MiB** (%.1f MB; anonymous %.1f MiB, file-backed %.1f MiB), VmHWM %.1f MiB, %d threads.\n\n",
			h.relLine(m.Command), idleSettle.Seconds(), mib(m.IdleRSS), float64(m.IdleRSS)/1e6, mib(m.IdleAnon), mib(m.IdleFile), mib(m.IdleHWM), m.Threads)
		if len(m.Mappings) > 0 {
			p("Where the idle daemon's resident memory is, by mapping (`/proc/PID/smaps`; %d shared libraries mapped, %.1f MiB resident between them), the ten largest:\n\n| mapping | resident MiB |\n|---|---:|\n",
				m.SharedLibs, mib(m.SharedLibRSS))
			for _, mp := range m.Mappings {
				p("| `%s` | %.1f |\n", h.relLine(mp.Name), mib(mp.RSS))
			}
			p("\n")
		}
		p("| job | Kiln peak RSS MiB | ffmpeg peak RSS MiB | read from |\n|---|---:|---:|---|\n")
		if d := m.DaemonJob; d != nil {
			p("| %s | %.0f | | %s |\n", d.Job, mib(d.KilnPeak), d.Via)
		} else if m.DaemonJobErr != "" {
			p("| PAL job through the daemon | not recorded | | %s |\n", m.DaemonJobErr)
		}
		for _, j := range m.Jobs {
			p("| %s | %.0f | %.0f | %s |\n", j.Job, mib(j.KilnPeak), mib(j.FFmpegPeak), j.Via)
		}
		p("\n%s\n", chartLink(charts, "memory"))
	}

	if len(r.Profiles) > 0 {
		p("## Profiles of the missed targets\n\n")
		for _, pr := range r.Profiles {
			p("### %s: %s\n\n```\n$ %s\n%s\n```\n\n", pr.Target, pr.Tool, h.relLine(pr.Command), pr.Top)
		}
	}
	if len(r.Warnings) > 0 {
		p("## Warnings\n\n")
		for _, w := range r.Warnings {
			p("- %s\n", w)
		}
		p("\n")
	}
	p("## Reproduce\n\n`make bench`, or `go run ./bench` after `make build` (`-only kernels,pipelines,frc,store,memory` runs a subset, `-reps N` sets the repetitions). " +
		"Generated sources are kept in `bench/results/tmp/sources/` and reused while their ffmpeg arguments are unchanged; each run's scratch is `bench/results/tmp/run/`. " +
		"Every command line above is printed as it runs.\n")
	return b.String()
}

// profileSummary names the top entries of the profiles taken for a target:
// perf's symbols where perf ran, else the calls pprof's cumulative view
// puts the time under (Kiln's C kernels, the SQL engine's stages).
func (h *harness) profileSummary(target string) string {
	var perf, pprof []string
	for _, pr := range h.res.Profiles {
		if !strings.HasPrefix(target, strings.SplitN(pr.Target, " (", 2)[0]) {
			continue
		}
		for _, line := range strings.Split(pr.Top, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 4 && strings.HasSuffix(f[0], "%") && (f[2] == "[.]" || f[2] == "[k]"):
				perf = append(perf, fmt.Sprintf("`%s` %s", f[3], f[0]))
			case len(f) >= 6 && strings.HasSuffix(f[4], "%") && pprofMarker(f[5]):
				pprof = append(pprof, fmt.Sprintf("`%s` %s", f[5], f[4]))
			}
		}
	}
	switch {
	case len(perf) > 0:
		return strings.Join(perf[:min(3, len(perf))], ", ") + " of samples (perf)"
	case len(pprof) > 0:
		return strings.Join(pprof[:min(4, len(pprof))], ", ") + " of CPU time, cumulative (pprof)"
	}
	return ""
}

// pprofMarker picks the entries of a cumulative pprof table that say where
// time goes: a cgo kernel call, SQL statement preparation, commit, system
// calls.
func pprofMarker(name string) bool {
	for _, m := range []string{"_Cfunc_", "_sqlite3Prepare", "_vdbeCommit", "linux.Syscall6"} {
		if strings.Contains(name, m) {
			return true
		}
	}
	return false
}

func chartLink(charts map[string]string, name string) string {
	if f, ok := charts[name]; ok {
		return fmt.Sprintf("![%s](%s)\n", name, filepath.Base(f))
	}
	return ""
}

func qPSNR(q *Quality) string {
	if q == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", q.PSNRY)
}

func qSSIM(q *Quality) string {
	if q == nil {
		return "–"
	}
	return fmt.Sprintf("%.4f", q.SSIMAll)
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// relLine shortens the module root's absolute paths in a command line, so
// that the Markdown reads the same on every checkout.
func (h *harness) relLine(s string) string {
	return strings.ReplaceAll(s, h.root+string(filepath.Separator), "")
}

func (h *harness) relAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = h.relLine(l)
	}
	return out
}

// charts writes the PNGs and returns their paths by name.
func (h *harness) charts() (map[string]string, error) {
	r := h.res
	out := map[string]string{}
	write := func(name string, c barChart) error {
		if len(c.Groups) == 0 {
			return nil
		}
		path := filepath.Join(h.out, name+".png")
		if err := c.writePNG(path); err != nil {
			return err
		}
		out[name] = path
		return nil
	}
	k := barChart{Title: "Kernels: Kiln CPU / libavfilter speed", Note: "Longer is faster for Kiln; the line is the same speed.",
		Series: []string{"Kiln / ffmpeg"}, Ref: &refLine{1, "same speed"}}
	for _, x := range r.Kernels {
		k.Groups = append(k.Groups, barGroup{Label: shortKernel(x.Kernel) + " " + x.Size, Values: []float64{x.Ratio},
			Texts: []string{fmt.Sprintf("%.2f× (%.0f vs %.0f Mpix/s)", x.Ratio, x.KilnMpixS, x.FFmpegMpixS)}})
	}
	p := barChart{Title: "Pipelines: frames per second", Note: "Same source, same plan, same run. Longer is faster.", Series: []string{"Kiln", "ffmpeg"}}
	for _, x := range r.Pipelines {
		g := barGroup{Label: shortJob(x.Name), Values: []float64{math.NaN(), math.NaN()}, Texts: []string{x.Status, x.Status}}
		if x.Status == "ok" {
			g.Values = []float64{x.Kiln.FPS, x.FFmpeg.FPS}
			g.Texts = []string{fmt.Sprintf("%.1f fps, %.2f dB", x.Kiln.FPS, x.Kiln.Quality.PSNRY), fmt.Sprintf("%.1f fps, %.2f dB", x.FFmpeg.FPS, x.FFmpeg.Quality.PSNRY)}
		}
		p.Groups = append(p.Groups, g)
	}
	// Motion-compensated only: blend runs hundreds of times faster and would
	// flatten the bars the target is about.
	f := barChart{Title: "Motion-compensated frame-rate conversion, 25p to 50p", Note: "Output frames per second; PSNR-Y of the rebuilt frames.",
		Series: []string{"Kiln mc", "ffmpeg minterpolate mci"}}
	for _, size := range []string{"SD", "1080"} {
		for _, method := range []string{"mc"} {
			kk, ff := findFRC(r.FRC, size, "kiln", method), findFRC(r.FRC, size, "ffmpeg", method)
			if kk == nil || ff == nil || kk.Quality == nil || ff.Quality == nil {
				continue
			}
			f.Groups = append(f.Groups, barGroup{Label: size + " " + method, Values: []float64{kk.FPS, ff.FPS},
				Texts: []string{fmt.Sprintf("%.2f fps, %.2f dB", kk.FPS, kk.Quality.PSNRY), fmt.Sprintf("%.2f fps, %.2f dB", ff.FPS, ff.Quality.PSNRY)}})
		}
	}
	s := barChart{Title: "Job store: enqueue + claim + finish", Note: "Jobs per second; SQLite WAL, synchronous=FULL; PostgreSQL fsync=on, synchronous_commit=on.",
		Series: []string{"SQLite", "PostgreSQL"}, Ref: &refLine{storeTarget, fmt.Sprintf("target %d", storeTarget)}}
	if r.Store != nil {
		// One group per scenario, one bar per backend.
		var order []string
		groups := map[string]*barGroup{}
		for _, x := range r.Store.Scenarios {
			if groups[x.Name] == nil {
				label := fmt.Sprintf("producer + %d claimer(s)", x.Claimers)
				if strings.Contains(x.Name, "in turn") {
					label = "1 claimer, in turn"
				}
				groups[x.Name] = &barGroup{Label: label, Values: []float64{math.NaN(), math.NaN()}, Texts: []string{"-", "-"}}
				order = append(order, x.Name)
			}
			i := 0
			if x.Backend == "PostgreSQL" {
				i = 1
			}
			groups[x.Name].Values[i] = x.JobsPerSec
			groups[x.Name].Texts[i] = fmt.Sprintf("%.0f jobs/s", x.JobsPerSec)
		}
		for _, name := range order {
			s.Groups = append(s.Groups, *groups[name])
		}
	}
	m := barChart{Title: "Memory: resident set, MiB", Note: "Daemon idle, and each job's peak.", Series: []string{"Kiln", "ffmpeg"},
		Ref: &refLine{idleRSSTarget / (1 << 20), "idle target 40 MB"}}
	if x := r.Memory; x != nil {
		m.Groups = append(m.Groups, barGroup{Label: "daemon idle", Values: []float64{mib(x.IdleRSS), math.NaN()}, Texts: []string{"", "-"}})
		for _, j := range x.Jobs {
			m.Groups = append(m.Groups, barGroup{Label: shortJob(j.Job), Values: []float64{mib(j.KilnPeak), mib(j.FFmpegPeak)}})
		}
	}
	for name, c := range map[string]barChart{"kernels": k, "pipelines": p, "frc": f, "store": s, "memory": m} {
		if err := write(name, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func shortKernel(s string) string {
	s, _, _ = strings.Cut(s, ",")
	s, _, _ = strings.Cut(s, " (")
	return s
}

func shortJob(s string) string {
	s, _, _ = strings.Cut(s, " (")
	return strings.Replace(s, " MPEG-2 TS", "", 1)
}

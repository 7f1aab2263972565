package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The targets, each a ratio or a bound measured in this run.
const (
	frcSpeedTarget   = 5.0  // Kiln mc fps over minterpolate mci fps
	chainSpeedTarget = 1.0  // Kiln fps over ffmpeg fps, SD broadcast jobs
	storeTarget      = 5000 // jobs/s
	idleRSSTarget    = 40e6 // bytes (40 MB)
)

// judge sets h.res.Targets from the figures.
func (h *harness) judge() {
	res := h.res
	var t []Target

	for _, size := range []string{"SD", "1080"} {
		k, f := findFRC(res.FRC, size, "kiln", "mc"), findFRC(res.FRC, size, "ffmpeg", "mc")
		tg := Target{Name: "MC frame-rate conversion, " + size, Goal: fmt.Sprintf("Kiln mc ≥ %.0f× minterpolate (mci) fps, at ≥ its PSNR", frcSpeedTarget)}
		if k != nil && f != nil && k.Quality != nil && f.Quality != nil {
			ratio := k.FPS / f.FPS
			tg.Judged = true
			tg.Met = ratio >= frcSpeedTarget && k.Quality.PSNRY >= f.Quality.PSNRY
			tg.Measured = fmt.Sprintf("%.2f× (%.2f vs %.2f fps); PSNR-Y %.2f vs %.2f dB", ratio, k.FPS, f.FPS, k.Quality.PSNRY, f.Quality.PSNRY)
			tg.Limits = fmt.Sprintf("Kiln mc kept %.2f of %d cores busy on average, minterpolate %.2f.", k.CPUUse, res.Host.Cores, f.CPUUse)
		}
		t = append(t, tg)
	}
	for _, p := range res.Pipelines {
		if !strings.Contains(p.Name, "PAL") && !strings.Contains(p.Name, "NTSC") {
			continue
		}
		tg := Target{Name: "SD broadcast chain: " + p.Name, Goal: fmt.Sprintf("Kiln ≥ %.1f× ffmpeg fps, at ≥ its PSNR", chainSpeedTarget)}
		if p.Status == "ok" && p.Kiln.Quality != nil && p.FFmpeg.Quality != nil {
			tg.Judged = true
			tg.Met = p.SpeedRatio >= chainSpeedTarget && p.Kiln.Quality.PSNRY >= p.FFmpeg.Quality.PSNRY
			tg.Measured = fmt.Sprintf("%.2f× (%.1f vs %.1f fps); PSNR-Y %.2f vs %.2f dB", p.SpeedRatio, p.Kiln.FPS, p.FFmpeg.FPS,
				p.Kiln.Quality.PSNRY, p.FFmpeg.Quality.PSNRY)
			tg.Limits = fmt.Sprintf("Kiln spent %.1f CPU-seconds and kept %.2f of %d cores busy; ffmpeg %.1f CPU-seconds, %.2f cores. "+
				"Kiln's wall time includes verifying its output (probe, loudness of the output, SHA-256); ffmpeg's does not.",
				p.Kiln.CPUSeconds, p.Kiln.CPUSeconds/p.Kiln.WallSeconds, res.Host.Cores, p.FFmpeg.CPUSeconds, p.FFmpeg.CPUSeconds/p.FFmpeg.WallSeconds)
		} else {
			tg.Measured = p.Status + ": " + p.Reason
		}
		t = append(t, tg)
	}
	if s := res.Store; s != nil {
		for _, sc := range s.Scenarios {
			tg := Target{Name: "Job store: " + sc.Name, Goal: fmt.Sprintf("≥ %d jobs/s", storeTarget), Judged: true,
				Met: sc.JobsPerSec >= storeTarget, Measured: fmt.Sprintf("%.0f jobs/s", sc.JobsPerSec)}
			if s.FsyncP50 > 0 {
				// A job is three write transactions (enqueue, claim,
				// finish), each committed with an fsync of the WAL.
				perJob := 1000 / sc.JobsPerSec
				tg.Limits = fmt.Sprintf("Of the %.2f ms a job took, %.2f ms were CPU time (the process kept %.2f cores busy). "+
					"Its three commits (enqueue, claim, finish) each fsync the WAL (synchronous=FULL): %.2f ms a job at this disk's fsync p50 of %.3f ms.",
					perJob, sc.CPUPerWall*perJob, sc.CPUPerWall, 3*s.FsyncP50, s.FsyncP50)
			}
			t = append(t, tg)
		}
	}
	if m := res.Memory; m != nil {
		var largest []string
		for _, mp := range m.Mappings[:min(4, len(m.Mappings))] {
			largest = append(largest, fmt.Sprintf("%s %.1f MiB", filepath.Base(mp.Name), mib(mp.RSS)))
		}
		t = append(t, Target{Name: "Daemon idle RSS", Goal: fmt.Sprintf("≤ %.0f MB", idleRSSTarget/1e6), Judged: true,
			Met: float64(m.IdleRSS) <= idleRSSTarget, Measured: fmt.Sprintf("%.1f MB (%.1f MiB)", float64(m.IdleRSS)/1e6, mib(m.IdleRSS)),
			Limits: fmt.Sprintf("Anonymous memory (Go heap, stacks, runtime) %.1f MiB; file-backed pages (the binary's and libraries' code) %.1f MiB; %d threads. Largest mappings: %s. "+
				"%d shared libraries are mapped, %.1f MiB resident between them.",
				mib(m.IdleAnon), mib(m.IdleFile), m.Threads, strings.Join(largest, ", "), m.SharedLibs, mib(m.SharedLibRSS))})
	}
	res.Targets = t
}

func findFRC(rs []FRCResult, size, tool, method string) *FRCResult {
	for i := range rs {
		if rs[i].Size == size && rs[i].Tool == tool && rs[i].Method == method {
			return &rs[i]
		}
	}
	return nil
}

// missed reports whether a judged target whose name starts with prefix was missed.
func (h *harness) missed(prefix string) bool {
	for _, t := range h.res.Targets {
		if t.Judged && !t.Met && strings.HasPrefix(t.Name, prefix) {
			return true
		}
	}
	return false
}

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
			tg := Target{Name: "Job store, " + sc.Backend + ": " + sc.Name, Goal: fmt.Sprintf("≥ %d jobs/s", storeTarget), Judged: true,
				Met: sc.JobsPerSec >= storeTarget, Measured: fmt.Sprintf("%.0f jobs/s", sc.JobsPerSec)}
			tg.Limits = storeLimits(s, sc, res.Host.Cores)
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

// storeLimits says what bounds one store scenario. A job is three writes
// (enqueue, claim, finish), each acknowledged only once committed durably.
func storeLimits(s *StoreResult, sc StoreScenario, cores int) string {
	perJob := 1000 / sc.JobsPerSec
	cpu := fmt.Sprintf("Of the %.2f ms a job took, the bench process spent %.2f ms of CPU (it kept %.2f of %d cores busy)",
		perJob, sc.CPUPerWall*perJob, sc.CPUPerWall, cores)
	inTurn := strings.Contains(sc.Name, "in turn")
	// With one producer that enqueues one file at a time and waits for each
	// commit, its latency caps the rate whatever the claimers do.
	producer := ""
	if !inTurn && sc.EnqueueP50 > 0 {
		producer = fmt.Sprintf(" The one producer waits for each enqueue to commit (p50 %.2f ms, an fsync of this disk's p50 %.3f ms among it), so no more than %.0f jobs/s can enter the queue.",
			sc.EnqueueP50, s.FsyncP50, 1000/sc.EnqueueP50)
	}
	if sc.Backend == "PostgreSQL" {
		return cpu + fmt.Sprintf(" and the server %.2f ms (%.2f cores). Each write is a transaction of its own, a few round trips to a server process, "+
			"and each commit waits for its WAL flush (fsync=on, synchronous_commit=on; this disk's fsync p50 is %.3f ms); concurrent commits share flushes in the server.",
			sc.ServerCPUPerWall*perJob, sc.ServerCPUPerWall, s.FsyncP50) + producer
	}
	if s.FsyncP50 <= 0 {
		return cpu + "."
	}
	if inTurn {
		floor := 3 * s.FsyncP50
		return cpu + fmt.Sprintf(". One caller makes the three writes one after another, and each returns only once its commit has fsynced the WAL (synchronous=FULL), "+
			"so nothing can share a commit: three fsyncs are %.2f ms a job at this disk's p50 of %.3f ms, a ceiling of %.0f jobs/s before any CPU is spent. "+
			"%d jobs/s needs %.2f ms a job for all three commits, CPU included; it is out of reach on this disk without giving up durability.",
			floor, s.FsyncP50, 1000/floor, storeTarget, 1000.0/storeTarget)
	}
	return cpu + "." + producer + fmt.Sprintf(" Concurrent writers share SQLite transactions (%.2f operations a commit, empty claims included); SQLite still runs one write at a time, "+
		"and claimers that poll an empty queue at once take CPU from the producer on %d cores.", sc.OpsPerCommit, cores)
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

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// measured is what one finished command cost.
type measured struct {
	Wall    float64 // seconds
	CPU     float64 // user + system seconds
	MaxRSS  int64   // bytes
	Stdout  []byte
	Stderr  []byte
	Command string
}

// exec runs a command to completion and measures it. label says which side
// of which pair it is; the command line is printed before it runs, so that
// anyone can repeat it by hand.
func (h *harness) exec(ctx context.Context, label string, argv ...string) (measured, error) {
	line := shellLine(argv)
	fmt.Fprintf(h.log, "  [%s] $ %s\n", label, line)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = h.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return measured{Command: line}, fmt.Errorf("%s: %w", line, err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	m := measured{Wall: time.Since(began).Seconds(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Command: line, MaxRSS: peak()}
	if ps := cmd.ProcessState; ps != nil {
		m.CPU = ps.UserTime().Seconds() + ps.SystemTime().Seconds()
	}
	if err != nil {
		return m, fmt.Errorf("%s: %w\n%s", line, err, lastLines(stderr.String(), 15))
	}
	return m, nil
}

// watchPeakRSS samples a child's VmHWM until the returned function is
// called, which gives the highest value seen. rusage's ru_maxrss cannot be
// used: Go starts children with vfork, and Linux counts the parent's own
// peak into the child's ru_maxrss, so every child of a large harness would
// read as large as the harness.
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	read := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb*1024 > peak.Load() {
						peak.Store(kb * 1024)
					}
				}
			}
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// ffmpegArgs puts the flags every ffmpeg run of the harness shares in front.
// -nostdin keeps ffmpeg from reading the terminal; -benchmark prints the
// time of the transcode loop, without process start and probing.
func ffmpegArgs(args ...string) []string {
	return append([]string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y", "-benchmark"}, args...)
}

var benchRE = regexp.MustCompile(`bench: utime=([0-9.]+)s stime=([0-9.]+)s rtime=([0-9.]+)s`)

// ffmpegLoop reads -benchmark's report: the transcode loop's wall and CPU
// seconds.
func ffmpegLoop(stderr []byte) (wall, cpu float64, err error) {
	m := benchRE.FindSubmatch(stderr)
	if m == nil {
		return 0, 0, fmt.Errorf("no -benchmark report in ffmpeg's output:\n%s", lastLines(string(stderr), 10))
	}
	u, _ := strconv.ParseFloat(string(m[1]), 64)
	s, _ := strconv.ParseFloat(string(m[2]), 64)
	r, _ := strconv.ParseFloat(string(m[3]), 64)
	return r, u + s, nil
}

var frameRE = regexp.MustCompile(`frame=\s*([0-9]+)`)

// ffmpegFrames is the last video frame count ffmpeg printed.
func ffmpegFrames(stderr []byte) int {
	all := frameRE.FindAllSubmatch(stderr, -1)
	if len(all) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(string(all[len(all)-1][1]))
	return n
}

// shellLine quotes argv so that a shell runs the same command.
func shellLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = shellQuote(a)
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+,@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

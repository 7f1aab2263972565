// Package daemontest helps tests that run a real kilnd daemon: a fake worker
// that speaks the worker protocol of package job (spec JSON on stdin,
// progress and result JSON lines on stdout) without libav, so that daemon,
// API and CLI tests run jobs end to end in milliseconds.
//
// The fake is the test binary itself, re-executed: call
// RunFakeWorkerIfAsked first thing in TestMain and use WorkerCmd as the
// daemon's WorkerCmd. It must stay free of libav and CUDA, like the daemon.
package daemontest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"kiln/job"
	"kiln/staging"
)

// workerArg marks a re-executed test binary as a fake worker.
const workerArg = "kiln-fake-worker"

// WorkerCmd is the argv that starts the running test binary as a fake worker.
func WorkerCmd() []string {
	exe, err := os.Executable()
	if err != nil {
		panic(fmt.Sprintf("daemontest: cannot find the test binary: %v", err))
	}
	return []string{exe, workerArg}
}

// RunFakeWorkerIfAsked runs the fake worker and exits when the process was
// started by WorkerCmd; otherwise it returns at once.
func RunFakeWorkerIfAsked() {
	if len(os.Args) > 1 && os.Args[1] == workerArg {
		os.Exit(FakeWorker(os.Stdin, os.Stdout, os.Stderr))
	}
}

// What the fake does depends on words in the source file's name:
//
//	crash   reports some progress, then exits 7 without a result
//	fail    reports a permanent failure ("no video stream")
//	hang    creates its staging folder, reports progress once, then sleeps
//	        until it is killed
//	slow    takes about 2 s, in 20 progress steps
//	allocN  holds N MiB (touched, so resident) until it ends
//	long    takes about 6 s, in 60 progress steps
//	overrun announces a 1 s time limit, then reports progress every
//	        100 ms for 10 minutes: a worker whose own timer failed
//	(none)  takes about 0.2 s, in 4 progress steps
//
// Every job that succeeds publishes <output_root>/<source>/<profile>/ with
// <source>.out and the report <source>.kiln.json, through package staging as
// the real worker does. The report's warnings list any of systemd's
// variables (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*) the worker inherited, and
// the spec's NVENC note; its plan ends with the NVENC sessions the spec
// granted and whether it asked for NVDEC ("NVENC sessions granted: 3",
// "NVDEC asked for: true"). Each also spends about 30 ms of
// CPU, so that resource accounting has something to measure.
func FakeWorker(stdin io.Reader, stdout, stderr io.Writer) int {
	var spec job.Spec
	if err := json.NewDecoder(stdin).Decode(&spec); err != nil {
		fmt.Fprintln(stderr, "fake worker: reading job spec:", err)
		return 2
	}
	name := spec.OutputFolder()
	stem := strings.TrimSuffix(filepath.Base(spec.Source), filepath.Ext(spec.Source))
	has := func(word string) bool { return strings.Contains(stem, word) }
	burnCPU(30 * time.Millisecond)
	var held []byte
	if i := strings.Index(name, "alloc"); i >= 0 {
		var mib int
		fmt.Sscanf(name[i+len("alloc"):], "%d", &mib)
		held = make([]byte, mib<<20)
		for i := range held {
			held[i] = 1
		}
	}
	defer runtime.KeepAlive(held)

	progress := func(frames int64, fraction float64) {
		job.WriteMessage(stdout, job.Message{Progress: &job.Progress{
			Frames: frames, FPS: 50, Fraction: fraction, Stage: "encode"}})
	}
	steps, pause := 4, 50*time.Millisecond
	switch {
	case has("crash"):
		progress(10, 0.1)
		fmt.Fprintln(stderr, "fake worker: simulated crash")
		return 7
	case has("fail"):
		progress(1, 0.01)
		job.WriteMessage(stdout, job.Message{Result: &job.Result{Reason: "no video stream", Permanent: true}})
		return 0
	case has("hang"):
		if _, err := staging.New(spec.OutputRoot, name, spec.Profile.Name, spec.ID); err != nil {
			fmt.Fprintln(stderr, "fake worker:", err)
			return 2
		}
		progress(5, 0.05)
		time.Sleep(10 * time.Minute)
		return 3
	case has("slow"):
		steps, pause = 20, 100*time.Millisecond
	case has("long"):
		steps, pause = 60, 100*time.Millisecond
	case has("overrun"):
		job.WriteMessage(stdout, job.Message{Progress: &job.Progress{Stage: "probe", TimeLimitSeconds: 1}})
		for i := int64(1); i < 6000; i++ {
			time.Sleep(100 * time.Millisecond)
			progress(i, 0.5)
		}
		return 3
	}

	started := time.Now()
	dir, err := staging.New(spec.OutputRoot, name, spec.Profile.Name, spec.ID)
	if err != nil {
		// As the real worker: a refusal that a retry cannot change is a
		// permanent result, anything else a crash.
		if why, ok := job.PermanentOS(err); ok {
			job.WriteMessage(stdout, job.Message{Result: &job.Result{Reason: why + ": " + err.Error(), Permanent: true}})
			return 0
		}
		fmt.Fprintln(stderr, "fake worker:", err)
		return 2
	}
	dir.Mode = spec.PublishMode()
	for i := 1; i <= steps; i++ {
		time.Sleep(pause)
		progress(int64(i*25), float64(i)/float64(steps+1))
	}
	out := name + ".out"
	if err := os.WriteFile(dir.File(out), []byte("fake output of "+spec.Source+"\n"), 0o644); err != nil {
		fmt.Fprintln(stderr, "fake worker:", err)
		return 2
	}
	report := &job.Report{
		Kiln: "fake", JobID: spec.ID, Profile: spec.Profile.Name, Source: spec.Source,
		Plan: []string{"copy (fake worker)", fmt.Sprintf("NVENC sessions granted: %d", spec.NVENCSessions),
			fmt.Sprintf("NVDEC asked for: %t", spec.NVDEC)},
		Backends: map[string]string{"video_process": "cpu", "video_encode": "fake"},
		Outputs:  []job.Output{{Name: out, Path: dir.FinalFile(out)}},
		Checks:   []job.Check{},
		Warnings: leakedEnv(), BackendNote: spec.BackendNote,
		Timings: job.Timings{Started: started.UTC(), Finished: time.Now().UTC(),
			Seconds: time.Since(started).Seconds(), Frames: int64(steps * 25), EncodeFPS: 50},
	}
	if spec.OutputNote != "" {
		report.Warnings = append(report.Warnings, spec.OutputNote)
	}
	if spec.NVENCNote != "" {
		report.Warnings = append(report.Warnings, spec.NVENCNote)
	}
	b, _ := json.MarshalIndent(report, "", "  ")
	if err := os.WriteFile(dir.File(name+".kiln.json"), b, 0o644); err != nil {
		fmt.Fprintln(stderr, "fake worker:", err)
		return 2
	}
	if err := dir.Publish(); err != nil {
		fmt.Fprintln(stderr, "fake worker:", err)
		return 2
	}
	job.WriteMessage(stdout, job.Message{Result: &job.Result{OK: true, Report: report, PeakRSSBytes: job.OwnPeakRSS()}})
	return 0
}

// leakedEnv lists the variables systemd meant for the daemon alone that
// reached the worker anyway, so that tests can see the daemon filter them.
func leakedEnv() []string {
	out := []string{}
	for _, name := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} {
		if v, ok := os.LookupEnv(name); ok {
			out = append(out, "worker environment has "+name+"="+v)
		}
	}
	return out
}

// burnCPU spins for d of CPU time, measured as wall time on one thread.
func burnCPU(d time.Duration) {
	x := uint64(1)
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		fmt.Fprint(io.Discard, x) // keeps the loop from being optimised away
	}
}

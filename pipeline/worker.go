package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"syscall"

	"kiln/job"
	"kiln/kernels"
)

// Serve is a worker process's whole life: read one job spec (JSON) from r,
// run it on backend b, and write progress and the result as JSON lines on w.
// It returns an error only when no result could be written; a failed job is
// a result, not an error. Both `kiln-worker worker` (CPU) and `kiln-gpu-worker
// worker` (CUDA) run it, so the daemon speaks to either the same way.
func Serve(ctx context.Context, r io.Reader, w io.Writer, b kernels.Backend) error {
	var spec job.Spec
	if err := json.NewDecoder(r).Decode(&spec); err != nil {
		return fmt.Errorf("reading job spec: %w", err)
	}
	// A CUDA context reserves far more address space than it uses, so the
	// cap applies only to a backend that allocates nothing but host frames.
	if m := spec.Limits.MemoryBytes; m > 0 && kernels.ImagesAreHostFrames(b) {
		lim := syscall.Rlimit{Cur: uint64(m), Max: uint64(m)}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			return fmt.Errorf("setting the worker's memory limit: %w", err)
		}
	}
	report, err := RunOn(ctx, b, spec, func(p job.Progress) {
		job.WriteMessage(w, job.Message{Progress: &p})
	})
	res := job.Result{OK: err == nil, Report: report, PeakRSSBytes: job.OwnPeakRSS()}
	if err != nil {
		res.Reason = Reason(err)
		res.Permanent = Permanent(err)
	}
	if err := job.WriteMessage(w, job.Message{Result: &res}); err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	return nil
}

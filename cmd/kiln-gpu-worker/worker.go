//go:build cuda

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/asticode/go-astiav"

	"kiln/gpu"
	"kiln/kernels"
	"kiln/pipeline"
)

// worker runs one job for the daemon with the video kernels on the GPU: the
// same protocol as `kilnd worker` (job spec on stdin, JSON lines on stdout).
// If the CUDA backend cannot open after all (the probe passed, then the
// device was taken or reset), the job still runs, on the CPU kernels, and the
// report says why.
func worker(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, device int) error {
	astiav.SetLogLevel(astiav.LogLevelError)
	var b kernels.Backend
	g, err := gpu.Open(gpu.Options{Device: device})
	if err != nil {
		fmt.Fprintln(stderr, "kiln-gpu-worker: CUDA backend unavailable, running the kernels on the CPU:", err)
		b = kernels.CPU()
	} else {
		defer g.Close()
		b = g
	}
	return pipeline.Serve(ctx, stdin, stdout, b)
}

//go:build cuda

// Command kiln-gpu-worker is Kiln's GPU side: the one binary that links the
// CUDA driver (through gorgonia.org/cu, built with -tags cuda). It cannot
// even start on a machine without a GPU, since cu's init exits the process;
// that failure is how the daemon (hardware.Probe) learns there is no GPU.
//
//	kiln-gpu-worker probe     one JSON object: devices, CUDA, NVENC, NVDEC
//	kiln-gpu-worker parity    every kernel on the CPU and the GPU, compared bit for bit
//	kiln-gpu-worker bench     Mpix/s per kernel on the GPU
//	kiln-gpu-worker worker    run one job for the daemon, kernels on the GPU
//
// Build it with `make cuda` or
// `go build -tags cuda -o bin/kiln-gpu-worker ./cmd/kiln-gpu-worker`.
//
// Its room is what needs the driver in a process of its own: the probe the
// daemon reads (hardware.Probe), and the checks and measurements of
// scripts/gpu-check.sh. Nothing here may be imported by kilnd or the CPU
// worker, which must start on machines without a GPU.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kiln-gpu-worker:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: kiln-gpu-worker probe | worker [-device N] | parity [-device N] [-run SUBSTRING] | bench [-device N] [-seconds S]")

// run dispatches a subcommand; its reports go to stdout as JSON.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	device := fs.Int("device", 0, "CUDA device ordinal")
	switch args[0] {
	case "probe":
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		return probe(stdout)
	case "parity":
		match := fs.String("run", "", "only the cases whose name contains this")
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		return parity(ctx, stdout, *device, *match)
	case "worker":
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		return worker(ctx, os.Stdin, stdout, os.Stderr, *device)
	case "bench":
		seconds := fs.Float64("seconds", 1, "minimum time per measurement")
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		return bench(ctx, stdout, *device, *seconds)
	}
	return errUsage
}

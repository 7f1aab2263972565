// Command bench compares Kiln with the ffmpeg CLI doing the same work, side
// by side in one run, and writes bench/results/latest.json, latest.md and
// PNG charts:
//
//	go run ./bench [-kilnd bin/kilnd] [-only kernels,pipelines,frc,store,memory] [-reps 2]
//
// Every figure is a measurement of this run on this machine. The harness
// prints each command line it runs, so any pair can be rerun by hand.
//
// bench/ is a room of its own: it drives kilnd as a user would, and calls
// kernels/, pipeline/ (planning only) and daemon/store in process where a
// command line cannot isolate what is measured. It must not change them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

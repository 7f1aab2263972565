// Command kilnd is the Kiln daemon. The same binary is also the worker the
// daemon re-executes for each job, and the one-shot `kilnd transcode`.
//
//	kilnd [--config FILE] [--check]                         run the daemon
//	kilnd transcode --config FILE --profile NAME INPUT OUTDIR
//	kilnd worker                                            (internal) run one job from stdin
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// The first signal starts a graceful stop: running jobs get stop_grace.
	// Restoring the default action then lets a second Ctrl-C or SIGTERM end
	// kilnd at once; its workers die with it (parent-death signal) and the
	// next start re-queues their jobs.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

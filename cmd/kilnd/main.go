// Command kilnd is the Kiln daemon. It is pure Go: jobs run in kiln-worker
// (libav, cgo), one process per job, installed in $PREFIX/libexec/kiln (in
// the build folder, next to kilnd), or in kiln-gpu-worker when the probe
// finds a GPU. `kilnd transcode` runs one job in the foreground in the worker
// the daemon would choose; `kilnd worker` hands over to kiln-worker.
//
//	kilnd [--config FILE | --embedded-config] [--check]     run the daemon
//	kilnd transcode --config FILE --profile NAME INPUT OUTDIR
//	kilnd worker                                            (internal) run one job from stdin
//	kilnd version, kilnd --version
//	kilnd completion bash|zsh|fish
//
// Without --config it reads /etc/kiln/kiln.toml when that exists, else the
// embedded default under ./var. The command line is built with cobra (run.go).
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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

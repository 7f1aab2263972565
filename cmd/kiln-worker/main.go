// Command kiln-worker is Kiln's CPU worker: the binary that links libav (cgo)
// and runs the kernels on the CPU. The daemon and `kilnd transcode` start one
// per job when the job is not for the GPU worker; `kilnd worker` hands over
// to it. `kiln-worker transcode` runs a job in-process on the CPU, with no
// GPU probe. It lives next to kilnd (make
// build puts both in bin/, make install both in the same bin folder).
//
//	kiln-worker worker                                            run one job from stdin (for the daemon)
//	kiln-worker transcode --config FILE --profile NAME INPUT OUTDIR
//	kiln-worker version
//
// It is a binary of its own so that kilnd stays pure Go: a daemon that idles
// for months should not map libav and its 200 shared libraries, and a crash
// in libav on a hostile file can only ever take one job's process with it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

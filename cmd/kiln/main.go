// Command kiln is the client for a running kilnd. It talks HTTP/JSON over the
// daemon's unix socket: --socket, or $KILN_SOCKET, or /run/kiln/kiln.sock.
// The commands are built with cobra (run.go, commands.go); `kiln help` lists
// them and the exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Package journal makes kilnd's log levels reach journald. Under systemd,
// stderr is a stream to journald, which gives every line the unit's default
// priority (info) unless the line starts with an sd-daemon prefix such as
// "<3>"; without the prefixes `journalctl -u kilnd -p err` finds nothing.
//
// The package only formats log records; it must not import the daemon or
// anything with cgo.
package journal

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"sync"

	sdjournal "github.com/coreos/go-systemd/v22/journal"
)

// Priority is the syslog priority (sd-daemon(3)) journald files a record
// under: errors at 3, warnings at 4, info at 6 and debug at 7.
func Priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // LOG_ERR
	case l >= slog.LevelWarn:
		return 4 // LOG_WARNING
	case l >= slog.LevelInfo:
		return 6 // LOG_INFO
	default:
		return 7 // LOG_DEBUG
	}
}

// PriorityHandler writes each record as one JSON line, as slog's JSON
// handler does, preceded by its "<N>" priority prefix. A JSON line never
// holds a raw newline (the encoder escapes them), so journald sees exactly
// one entry per record and applies the prefix to it.
type PriorityHandler struct {
	inner slog.Handler
	out   *lockedBuffer
}

// lockedBuffer is shared by a handler and every handler derived from it
// (WithAttrs, WithGroup): the record is formatted into buf and then written
// to out with its prefix in a single Write, so that concurrent records never
// interleave.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (b *lockedBuffer) Write(p []byte) (int, error) { return b.buf.Write(p) }

// NewPriorityHandler returns a handler that writes prefixed JSON lines to w.
func NewPriorityHandler(w io.Writer, opts *slog.HandlerOptions) *PriorityHandler {
	out := &lockedBuffer{out: w}
	return &PriorityHandler{inner: slog.NewJSONHandler(out, opts), out: out}
}

func (h *PriorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *PriorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.buf.Reset()
	h.out.buf.WriteString(prefixes[Priority(r.Level)])
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.out.Write(h.out.buf.Bytes())
	return err
}

func (h *PriorityHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &PriorityHandler{inner: h.inner.WithAttrs(attrs), out: h.out}
}

func (h *PriorityHandler) WithGroup(name string) slog.Handler {
	return &PriorityHandler{inner: h.inner.WithGroup(name), out: h.out}
}

var prefixes = map[int]string{3: "<3>", 4: "<4>", 6: "<6>", 7: "<7>"}

// StderrIsJournal says whether this process's stderr is a stream to
// journald: JOURNAL_STREAM is set and names stderr's device and inode.
// systemd sets it for the service's own stderr only, and the check on the
// inode keeps a child whose stderr was redirected elsewhere (to a file, a
// pipe, a terminal) from writing prefixes where nobody strips them.
func StderrIsJournal() bool {
	ok, err := sdjournal.StderrIsJournalStream()
	return err == nil && ok
}

// NewHandler is kilnd's log handler for stderr: prefixed JSON lines when
// stderr goes to journald, plain JSON lines otherwise (a terminal, a log
// file, make demo's var/kilnd.log).
func NewHandler(stderr io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if stderr == io.Writer(os.Stderr) && StderrIsJournal() {
		return NewPriorityHandler(stderr, opts)
	}
	return slog.NewJSONHandler(stderr, opts)
}

// ErrorLines returns a writer for kilnd's messages before its logger
// exists (a config that does not load, a missing worker): under journald
// each line it writes gets the error prefix "<3>", so that a daemon that
// cannot start shows in `journalctl -p err`; elsewhere it is stderr itself.
func ErrorLines(stderr io.Writer) io.Writer { return Lines(stderr, slog.LevelError) }

// Lines is ErrorLines for any level: under journald each line written
// gets that level's prefix; elsewhere it is stderr itself.
func Lines(stderr io.Writer, l slog.Level) io.Writer {
	if stderr == io.Writer(os.Stderr) && StderrIsJournal() {
		return &prefixWriter{out: stderr, prefix: prefixes[Priority(l)]}
	}
	return stderr
}

// prefixWriter writes each line with a prefix, in one Write per line. A
// line without its newline yet is completed by the next Write.
type prefixWriter struct {
	out     io.Writer
	prefix  string
	midLine bool
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !w.midLine {
			b.WriteString(w.prefix)
		}
		b.Write(line)
		w.midLine = line[len(line)-1] != '\n'
	}
	if _, err := w.out.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kiln/api"
)

// client calls the daemon's API over its unix socket.
type client struct {
	socket string
	http   *http.Client // requests with an answer: bounded in time
	stream *http.Client // event streams: as long as the job runs
}

// streamIdle is how long an event stream may stay silent. The daemon sends
// a keepalive every 15 s, so silence this long means it is gone or stuck.
const streamIdle = 45 * time.Second

func newClient(socket string) *client {
	transport := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &client{
		socket: socket,
		http:   &http.Client{Transport: transport, Timeout: 30 * time.Second},
		stream: &http.Client{Transport: transport},
	}
}

// unreachableError is a request that never got an answer: kilnd is not
// running, or not listening where the client looks, or refuses this user.
// kiln exits with exitUnreachable for it, so that scripts can tell it from a
// refusal by a daemon that is up.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

func (c *client) unreachable(err error) error {
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return &unreachableError{permissionDenied(c.socket)}
	}
	// "Get "http://kiln/v1/jobs": dial unix ..." names a URL that means
	// nothing to the user; the socket and the cause do.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &unreachableError{fmt.Errorf("cannot reach kilnd at %s: %w (is it running? set --socket or KILN_SOCKET)", c.socket, err)}
}

// permissionDenied says what to do when the socket refuses this user: the
// socket is 0660 with the group socket_group, so the user must join that
// group. The group is read from the socket itself, because the config that
// names it may be unreadable to this user.
func permissionDenied(socket string) error {
	group := "the socket's group (socket_group in kiln.toml, default kiln)"
	name := "kiln"
	if st, err := os.Stat(socket); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			gid := strconv.FormatUint(uint64(sys.Gid), 10)
			name = gid
			if g, err := user.LookupGroupId(gid); err == nil {
				name = g.Name
			}
			group = "group " + name
		}
	}
	return fmt.Errorf("permission denied on %s: add yourself to %s (sudo usermod -aG %s $USER) and log in again",
		socket, group, name)
}

// call sends a request and decodes the JSON answer into out (when not nil).
// It returns the raw body too, for --json.
func (c *client) call(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://kiln"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return raw, answerError(resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("decoding kilnd's answer: %w", err)
		}
	}
	return raw, nil
}

// refusedError is an error answer from a daemon that is up: a bad id, an
// unknown profile. Retrying the same request will not help.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

// answerError turns an error answer into "message (code)".
func answerError(status string, raw []byte) error {
	var e api.Error
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		// The message may quote a file name, which anyone may choose.
		return &refusedError{fmt.Sprintf("%s (%s)", termSafe(e.Error.Message), termSafe(e.Error.Code))}
	}
	return &refusedError{"kilnd answered " + status}
}

// events follows GET /v1/jobs/{id}/events and calls fn with each event,
// until the stream ends (the daemon closes it after api.EventEnd), ctx ends,
// or the stream stays silent for streamIdle.
func (c *client) events(ctx context.Context, id int64, fn func(event string, j api.Job)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://kiln/v1/jobs/%d/events", id), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.stream.Do(req)
	if err != nil {
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return answerError(resp.Status, raw)
	}

	lines := make(chan string)
	scanErr := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 16<<20) // the end event carries the report
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		scanErr <- sc.Err()
	}()
	idle := time.NewTimer(streamIdle)
	defer idle.Stop()
	var event string
	var data []string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-idle.C:
			return fmt.Errorf("no word from kilnd for %s while following job %d", streamIdle, id)
		case line, ok := <-lines:
			if !ok {
				select {
				case err := <-scanErr:
					return err
				default:
					return ctx.Err()
				}
			}
			idle.Reset(streamIdle)
			switch {
			case line == "": // an event ends at a blank line
				if len(data) > 0 {
					var j api.Job
					if err := json.Unmarshal([]byte(strings.Join(data, "\n")), &j); err != nil {
						return fmt.Errorf("decoding an event from kilnd: %w", err)
					}
					fn(event, j)
				}
				event, data = "", nil
			case strings.HasPrefix(line, ":"): // a keepalive comment
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
	}
}

func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding kilnd's answer: %w", err)
	}
	return nil
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
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

func (c *client) unreachable(err error) error {
	return fmt.Errorf("cannot reach kilnd at %s: %w (is it running? set --socket or KILN_SOCKET)", c.socket, err)
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

// answerError turns an error answer into "message (code)".
func answerError(status string, raw []byte) error {
	var e api.Error
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		return fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
	}
	return fmt.Errorf("kilnd answered %s", status)
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

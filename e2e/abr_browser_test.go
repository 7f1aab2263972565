package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The browser half of the ABR test: headless Chromium (Debian's package)
// loads e2e/player/player.html, which plays a package with hls.js or
// dash.js; the test reads the page's window.kilnResult over the DevTools
// protocol, through the small WebSocket client below (stdlib only).

// playerResult is what player.html leaves in window.kilnResult.
type playerResult struct {
	Kind   string `json:"kind"`
	Src    string `json:"src"`
	Levels []struct {
		Width   int    `json:"width"`
		Height  int    `json:"height"`
		Bitrate int64  `json:"bitrate"`
		Codecs  string `json:"codecs"`
	} `json:"levels"`
	AudioTracks int      `json:"audioTracks"`
	Played      []int    `json:"played"`
	Errors      []string `json:"errors"`
	MaxTime     float64  `json:"maxTime"`
	Switched    bool     `json:"switched"`
	Done        bool     `json:"done"`
	Reason      string   `json:"reason"`
}

// chromiumPath finds Debian's chromium, or says why the browser test cannot
// run.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium is not installed (Debian: apt-get install chromium)")
}

// playerFolder returns e2e/player with its node_modules, running `npm ci`
// (pinned by package-lock.json) when they are missing.
func playerFolder(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("player")
	if err != nil {
		t.Fatal(err)
	}
	installed := true
	for _, f := range []string{"hls.js/dist/hls.min.js", "dashjs/dist/modern/umd/dash.all.min.js", "dashjs/dist/modern/umd/dash.mss.min.js"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(f))); err != nil {
			installed = false
		}
	}
	if installed {
		return dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed; the browser players come from npm: run make setup (it installs npm when missing)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir
}

var devtoolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// playInChromium opens pageURL in a fresh headless Chromium and waits, at
// most timeout, for the page to report a result.
func playInChromium(t *testing.T, chromium, pageURL string, timeout time.Duration) playerResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	profile, err := os.MkdirTemp("", "kiln-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--autoplay-policy=no-user-gesture-required", "--mute-audio",
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		pageURL)
	// Its own process group: Chromium starts helper processes, and the test
	// ends them all, by that group, when the page is done.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var log strings.Builder
	var logMu sync.Mutex
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		// Helpers of the group may still be going away; give them a moment.
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("chromium's log:\n%s", lastChars(log.String(), 4000))
			logMu.Unlock()
		}
	}()

	wsURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			log.WriteString(line + "\n")
			logMu.Unlock()
			if m := devtoolsRE.FindStringSubmatch(line); m != nil {
				select {
				case wsURL <- m[1]:
				default:
				}
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-wsURL:
	case <-ctx.Done():
		t.Fatalf("chromium did not open its DevTools port within %s", timeout)
	}
	page, err := pageTarget(ctx, browserWS)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialWebSocket(ctx, page)
	if err != nil {
		t.Fatalf("connecting to the page over DevTools: %v", err)
	}
	defer conn.Close()

	var last playerResult
	for ctx.Err() == nil {
		raw, err := conn.evaluate("JSON.stringify(window.kilnResult || null)")
		if err == nil && raw != "" && raw != "null" {
			if err := json.Unmarshal([]byte(raw), &last); err != nil {
				t.Fatalf("window.kilnResult %q: %v", raw, err)
			}
			if last.Done {
				return last
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("the player did not finish within %s; its last state: %+v", timeout, last)
	return last
}

// pageTarget finds the page's DevTools WebSocket from the browser's.
func pageTarget(ctx context.Context, browserWS string) (string, error) {
	u, err := url.Parse(browserWS)
	if err != nil {
		return "", err
	}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+u.Host+"/json/list", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var targets []struct {
				Type string `json:"type"`
				URL  string `json:"url"`
				WS   string `json:"webSocketDebuggerUrl"`
			}
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if err == nil && tg.Type == "page" && tg.WS != "" {
					return tg.WS, nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("no page target in chromium: %w", ctx.Err())
}

// cdpConn is one DevTools WebSocket connection (RFC 6455, client side:
// masked text frames out, unmasked frames in).
type cdpConn struct {
	conn net.Conn
	r    *bufio.Reader
	id   int
}

func dialWebSocket(ctx context.Context, wsURL string) (*cdpConn, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	keyBytes := make([]byte, 16)
	rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		u.RequestURI(), u.Host, key)
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		conn.Close()
		return nil, err
	}
	if !strings.Contains(status, " 101 ") {
		conn.Close()
		return nil, fmt.Errorf("WebSocket handshake: %s", strings.TrimSpace(status))
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			conn.Close()
			return nil, err
		}
		if strings.TrimSpace(line) == "" {
			break
		}
	}
	return &cdpConn{conn: conn, r: r}, nil
}

func (c *cdpConn) Close() error { return c.conn.Close() }

// evaluate runs a JavaScript expression in the page and returns its string
// value.
func (c *cdpConn) evaluate(expr string) (string, error) {
	c.id++
	msg, _ := json.Marshal(map[string]any{"id": c.id, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true}})
	if err := c.send(msg); err != nil {
		return "", err
	}
	for {
		data, err := c.receive()
		if err != nil {
			return "", err
		}
		var reply struct {
			ID     int `json:"id"`
			Result struct {
				Result struct {
					Value any `json:"value"`
				} `json:"result"`
				Exception *struct {
					Text string `json:"text"`
				} `json:"exceptionDetails"`
			} `json:"result"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &reply) != nil || reply.ID != c.id {
			continue // an event, or an older reply
		}
		if reply.Error != nil {
			return "", errors.New(reply.Error.Message)
		}
		if reply.Result.Exception != nil {
			return "", errors.New(reply.Result.Exception.Text)
		}
		s, _ := reply.Result.Result.Value.(string)
		return s, nil
	}
}

func (c *cdpConn) send(payload []byte) error {
	frame := []byte{0x81} // FIN, text
	n := len(payload)
	switch {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	case n < 1<<16:
		frame = append(frame, 0x80|126, byte(n>>8), byte(n))
	default:
		frame = append(frame, 0x80|127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	frame = append(frame, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_, err := c.conn.Write(frame)
	return err
}

// receive reads one message, joining continuation frames and answering
// pings.
func (c *cdpConn) receive() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		var mask []byte
		if h[1]&0x80 != 0 {
			mask = make([]byte, 4)
			if _, err := io.ReadFull(c.r, mask); err != nil {
				return nil, err
			}
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("WebSocket frame of %d bytes", n)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		if mask != nil {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8:
			return nil, errors.New("DevTools closed the connection")
		case 0x9: // ping
			if err := c.pong(payload); err != nil {
				return nil, err
			}
			continue
		case 0xa:
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

func (c *cdpConn) pong(payload []byte) error {
	frame := []byte{0x8a, 0x80 | byte(len(payload))}
	mask := make([]byte, 4)
	rand.Read(mask)
	frame = append(frame, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_, err := c.conn.Write(frame)
	return err
}

func lastChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

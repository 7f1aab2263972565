package daemon

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln/api"
)

// notifySocket is a fake systemd: a unixgram socket that collects what the
// daemon sends to NOTIFY_SOCKET.
type notifySocket struct {
	t    *testing.T
	conn *net.UnixConn
	msgs chan notifyMsg
}

type notifyMsg struct {
	at   time.Time
	text string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	dir := newTestRoot(t)
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{t: t, conn: conn, msgs: make(chan notifyMsg, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- notifyMsg{at: time.Now(), text: string(buf[:k])}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return n
}

// next returns the next message that satisfies match, failing after timeout.
func (n *notifySocket) next(what string, timeout time.Duration, match func(string) bool) notifyMsg {
	n.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				n.t.Fatalf("notify socket closed while waiting for %s", what)
			}
			if match(m.text) {
				return m
			}
		case <-deadline:
			n.t.Fatalf("no %s from the daemon within %s", what, timeout)
		}
	}
}

func has(field string) func(string) bool {
	return func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if line == field {
				return true
			}
		}
		return false
	}
}

// drain discards what has arrived and returns it.
func (n *notifySocket) drain() []notifyMsg {
	var out []notifyMsg
	for {
		select {
		case m := <-n.msgs:
			out = append(out, m)
		default:
			return out
		}
	}
}

// TestSystemdNotify runs the daemon against a fake systemd and checks the
// whole conversation: READY once the socket answers, STATUS as jobs come and
// go, WATCHDOG from the main loop (and none while the loop is stuck),
// RELOADING then READY around a reload, and STOPPING.
func TestSystemdNotify(t *testing.T) {
	ns := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "100000") // a ping every 50 ms
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
	td := startDaemon(t, baseConfig)

	ready := ns.next("READY=1", 10*time.Second, has("READY=1"))
	if !strings.Contains(ready.text, "STATUS=0 running, 0 queued") {
		t.Errorf("READY without the initial status: %q", ready.text)
	}
	// READY means served: the API answers right away.
	var h api.Health
	td.getJSON("/v1/health", &h)

	ns.next("WATCHDOG=1", 2*time.Second, has("WATCHDOG=1"))

	// STATUS follows the jobs.
	id := td.submit(td.source("status-hang.mkv"), "p1", "")
	ns.next("STATUS with one running job", 5*time.Second, has("STATUS=1 running, 0 queued"))

	// A stuck main loop stops the pings, which is what lets systemd's
	// watchdog catch it. The loop takes d.mu on every round; hold it.
	td.d.mu.Lock()
	time.Sleep(150 * time.Millisecond) // a ping already on its way may land
	ns.drain()
	time.Sleep(500 * time.Millisecond)
	stuck := ns.drain()
	td.d.mu.Unlock()
	for _, m := range stuck {
		if has("WATCHDOG=1")(m.text) {
			t.Errorf("WATCHDOG=1 sent while the main loop was stuck: the ping does not come from the loop")
			break
		}
	}
	ns.next("WATCHDOG=1 after the loop resumed", 2*time.Second, has("WATCHDOG=1"))

	// A reload is bracketed by RELOADING=1 and READY=1.
	status, body := td.call("POST", "/v1/reload", "")
	if status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	rl := ns.next("RELOADING=1", 5*time.Second, has("RELOADING=1"))
	if !strings.Contains(rl.text, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", rl.text)
	}
	ns.next("READY=1 after the reload", 5*time.Second, has("READY=1"))

	// A rejected reload also ends in READY=1, with a status that says so.
	os.WriteFile(td.cfgPath, []byte("[daemon]\ncpu_jobs = 0\n"), 0o644)
	status, _ = td.call("POST", "/v1/reload", "")
	if status != 422 {
		t.Errorf("bad reload: status %d, want 422", status)
	}
	ns.next("RELOADING=1", 5*time.Second, has("RELOADING=1"))
	r := ns.next("READY=1 after the rejected reload", 5*time.Second, has("READY=1"))
	if !strings.Contains(r.text, "last reload rejected") {
		t.Errorf("status after a rejected reload: %q", r.text)
	}

	td.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", id), "")
	td.cancel()
	ns.next("STOPPING=1", 10*time.Second, has("STOPPING=1"))
	<-td.done
	td.cancel = nil
}

// TestWorkersDoNotInheritNotifySocket: a worker must not be able to speak
// to systemd in the daemon's name.
func TestWorkersDoNotInheritNotifySocket(t *testing.T) {
	listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "5000000")
	td := startDaemon(t, baseConfig)
	j := td.waitState(td.submit(td.source("env.mkv"), "p1", ""), "done", 20*time.Second)
	var rep struct{ Warnings []string }
	if err := json.Unmarshal(j.Report, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("the worker inherited: %v", rep.Warnings)
	}
	if os.Getenv("NOTIFY_SOCKET") == "" {
		t.Error("the daemon unset NOTIFY_SOCKET; later notifications would be lost")
	}
}

// TestNoNotifySocket: outside systemd nothing is sent and nothing fails.
func TestNoNotifySocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	td := startDaemon(t, baseConfig)
	td.waitState(td.submit(td.source("plain.mkv"), "p1", ""), "done", 20*time.Second)
	if w := td.logs.records("cannot notify systemd"); len(w) != 0 {
		t.Errorf("warnings without a notify socket: %v", w)
	}
}

package daemon

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// systemdNotifier tells systemd how the daemon stands, through the
// sd_notify protocol (go-systemd). Without NOTIFY_SOCKET, that is outside
// systemd or under Type=simple, every call does nothing.
//
// The environment is left set: go-systemd reads NOTIFY_SOCKET on every send.
// Workers do not inherit it (see workerEnv), so systemd never hears from a
// child.
type systemdNotifier struct {
	log *slog.Logger

	mu     sync.Mutex
	status string // the last STATUS= sent, so that an unchanged one is not resent
	warned bool   // a broken notify socket is logged once, not on every ping
}

func (n *systemdNotifier) send(state string) {
	ok, err := sdnotify.SdNotify(false, state)
	if err != nil {
		n.mu.Lock()
		warned := n.warned
		n.warned = true
		n.mu.Unlock()
		if !warned {
			n.log.Warn("cannot notify systemd", "err", err)
		}
		return
	}
	if ok {
		n.log.Debug("notified systemd", "state", state)
	}
}

// ready says the daemon serves: the socket is listening and the store open.
// It also ends a reload.
func (n *systemdNotifier) ready(status string) {
	n.mu.Lock()
	n.status = status
	n.mu.Unlock()
	n.send(sdnotify.SdNotifyReady + "\nSTATUS=" + status)
}

// reloading starts a reload; ready ends it. MONOTONIC_USEC is what systemd
// 253 and later require with RELOADING=1 (Type=notify-reload); older
// versions ignore it.
func (n *systemdNotifier) reloading() {
	var ts unix.Timespec
	msg := sdnotify.SdNotifyReloading
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
		msg += "\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
	}
	n.send(msg)
}

func (n *systemdNotifier) stopping() { n.send(sdnotify.SdNotifyStopping) }

func (n *systemdNotifier) watchdog() { n.send(sdnotify.SdNotifyWatchdog) }

// setStatus sends STATUS= when it changed.
func (n *systemdNotifier) setStatus(status string) {
	n.mu.Lock()
	same := status == n.status
	n.status = status
	n.mu.Unlock()
	if !same {
		n.send("STATUS=" + status)
	}
}

// watchdogInterval is how often systemd wants WATCHDOG=1 (half of
// WatchdogSec, as sd_watchdog_enabled advises), or 0 when it does not.
func (n *systemdNotifier) watchdogInterval() time.Duration {
	d, err := sdnotify.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("ignoring a malformed watchdog setting", "err", err)
		return 0
	}
	return d / 2
}

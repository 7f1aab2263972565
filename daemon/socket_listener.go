package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/coreos/go-systemd/v22/activation"
)

// socketListener is the API's listening socket: the one systemd passed
// (kilnd.socket, through LISTEN_FDS), or one bound here to the configured path.
type socketListener struct {
	net.Listener
	path string
	// owned is true when kilnd bound the socket itself, and so removes its
	// file on exit. A socket systemd passed belongs to systemd: its file, mode
	// and group come from kilnd.socket and stay when kilnd stops.
	owned bool
}

// openSocket takes the socket systemd passed, if any, else binds path with
// mode 0660 and group group ("" keeps the process's group).
func openSocket(path, group string, log *slog.Logger) (*socketListener, error) {
	// Listeners unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, so workers
	// do not think the sockets are theirs.
	passed, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("reading sockets passed by systemd: %w", err)
	}
	var chosen *socketListener
	for _, l := range passed {
		if l == nil {
			continue // not a listening socket
		}
		if chosen == nil && l.Addr().Network() == "unix" {
			chosen = &socketListener{Listener: l, path: l.Addr().String()}
			continue
		}
		log.Warn("ignoring an extra socket passed by systemd", "addr", l.Addr().String(), "network", l.Addr().Network())
		l.Close()
	}
	if chosen != nil {
		if chosen.path != path {
			log.Warn("systemd passed a socket other than the configured one; serving on systemd's",
				"passed", chosen.path, "configured", path)
		}
		log.Info("using the socket passed by systemd", "socket", chosen.path)
		return chosen, nil
	}
	if len(passed) > 0 {
		log.Warn("systemd passed sockets, but none is a listening unix socket; binding the configured path", "socket", path)
	}
	return bindSocket(path, group, log)
}

func bindSocket(path, group string, log *slog.Logger) (*socketListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating socket folder: %w", err)
	}
	// A socket left by a crashed daemon blocks bind; a live daemon answers.
	if conn, err := net.Dial("unix", path); err == nil {
		conn.Close()
		return nil, fmt.Errorf("another kilnd is already listening on %s", path)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	// Closing the listener would unlink the file, which a restarted daemon
	// may already have replaced; kilnd removes it itself on a clean exit.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		os.Remove(path)
		return nil, fmt.Errorf("socket permissions: %w", err)
	}
	s := &socketListener{Listener: l, path: path, owned: true}
	s.setGroup(group, log)
	return s, nil
}

// setGroup gives the socket file to group. A group that does not exist, or
// that the process may not give files to, leaves the socket with the
// process's group: the daemon still serves root and its own user, and the
// warning says why others cannot connect.
func (s *socketListener) setGroup(group string, log *slog.Logger) {
	if !s.owned || group == "" {
		return
	}
	gid, err := lookupGID(group)
	if err != nil {
		log.Warn("socket group not found; the socket keeps kilnd's group", "group", group, "socket", s.path, "err", err)
		return
	}
	if err := os.Chown(s.path, -1, gid); err != nil {
		log.Warn("cannot give the socket to its group; it keeps kilnd's group", "group", group, "socket", s.path, "err", err)
		return
	}
	log.Debug("socket group set", "group", group, "gid", gid)
}

func lookupGID(group string) (int, error) {
	if gid, err := strconv.Atoi(group); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, err
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("group %s has a non-numeric gid %q", group, g.Gid)
	}
	return gid, nil
}

// remove deletes the socket file if kilnd created it. A failure needs no
// action: the next start finds the file dead and replaces it.
func (s *socketListener) remove() {
	if s.owned {
		os.Remove(s.path)
	}
}

package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// connLimiter caps the API socket's open connections, in all and per user
// (the peer's uid, from SO_PEERCRED: a client can multiply its pids but not
// its uid). Without it, clients holding thousands of idle or half-open
// connections used up kilnd's file descriptors, and with them every inbox
// scan and worker start. A connection over a cap is answered at once with
// a 503 that says which cap, and closed: it never reaches the HTTP server,
// so it holds a descriptor for microseconds. The header and idle timeouts of
// the HTTP server end the connections that are let in but say nothing.
type connLimiter struct {
	net.Listener
	max, perUser int
	log          *slog.Logger

	mu      sync.Mutex
	open    int
	perUID  map[int]int
	refused int       // since the last log line
	logged  time.Time // when refusals were last logged
}

func newConnLimiter(l net.Listener, max, perUser int, log *slog.Logger) *connLimiter {
	c := &connLimiter{Listener: l, log: log, perUID: map[int]int{}}
	c.setCaps(max, perUser)
	return c
}

// setCaps changes the caps (on reload); connections already open stay. A
// config built without config.Load has zeros: config's defaults apply.
func (l *connLimiter) setCaps(max, perUser int) {
	if max <= 0 {
		max = 256
	}
	if perUser <= 0 || perUser > max {
		perUser = min(64, max)
	}
	l.mu.Lock()
	l.max, l.perUser = max, perUser
	l.mu.Unlock()
}

// Accept returns the next connection within the caps, answering and closing
// the ones over them.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cred, credOK := peerCredOf(c)
		uid := -1
		if credOK {
			uid = cred.uid
		}
		l.mu.Lock()
		var why string
		switch {
		case l.open >= l.max:
			why = fmt.Sprintf("kilnd already has %d API connections open (api_connections)", l.open)
		case uid >= 0 && l.perUID[uid] >= l.perUser:
			why = fmt.Sprintf("uid %d already has %d API connections open (api_connections_per_user)", uid, l.perUID[uid])
		default:
			l.open++
			if uid >= 0 {
				l.perUID[uid]++
			}
		}
		l.noteRefusalLocked(why)
		l.mu.Unlock()
		if why == "" {
			return &limitedConn{Conn: c, l: l, uid: uid, cred: cred, credOK: credOK}, nil
		}
		refuse(c, why)
	}
}

// noteRefusalLocked logs refusals at most once every 10 s, with their
// count: a flood must not flood the journal too.
func (l *connLimiter) noteRefusalLocked(why string) {
	if why == "" {
		return
	}
	l.refused++
	if time.Since(l.logged) < 10*time.Second {
		return
	}
	l.log.Warn("API connections refused: over the cap", "refused", l.refused, "last_reason", why,
		"api_connections", l.max, "api_connections_per_user", l.perUser)
	l.refused = 0
	l.logged = time.Now()
}

// refuse answers a connection over a cap without reading its request, with
// a deadline so that a client that reads nothing cannot hold it.
func refuse(c net.Conn, why string) {
	body := fmt.Sprintf(`{"error": {"code": "too_many_connections", "message": %q}}`+"\n", why+"; close idle connections and retry")
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s", len(body), body)
	c.Close()
}

func (l *connLimiter) release(uid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if uid >= 0 {
		if l.perUID[uid]--; l.perUID[uid] <= 0 {
			delete(l.perUID, uid)
		}
	}
}

// openConns is how many connections are open now.
func (l *connLimiter) openConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// limitedConn gives its place back when closed, once. It carries the
// peer's credentials, read once at accept, for the API's ConnContext.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	uid    int
	cred   peerCred
	credOK bool
	once   sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.uid) })
	return err
}

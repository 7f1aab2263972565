package daemon

import (
	"context"
	"net"
	"os/user"
	"strconv"
	"sync"
	"syscall"
)

// peerCred is who is at the other end of an API connection, from
// SO_PEERCRED: the kernel's word, taken when the client connected, so a
// client cannot claim to be someone else.
type peerCred struct {
	pid, uid, gid int
}

type peerCredKey struct{}

// withPeerCred is the server's ConnContext: it reads the peer's credentials
// once per connection.
func withPeerCred(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		if !lc.credOK {
			return ctx
		}
		return context.WithValue(ctx, peerCredKey{}, lc.cred)
	}
	cred, ok := peerCredOf(c)
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, peerCredKey{}, cred)
}

// peerCredOf reads SO_PEERCRED of a unix socket connection.
func peerCredOf(c net.Conn) (peerCred, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peerCred{}, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peerCred{}, false
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return peerCred{}, false
	}
	return peerCred{pid: int(cred.Pid), uid: int(cred.Uid), gid: int(cred.Gid)}, true
}

// peerAttrs are the log attributes naming the request's sender.
func peerAttrs(ctx context.Context) []any {
	p, ok := ctx.Value(peerCredKey{}).(peerCred)
	if !ok {
		return []any{"peer", "unknown"}
	}
	return []any{"peer_pid", p.pid, "peer_uid", p.uid, "peer_gid", p.gid, "peer_user", userName(p.uid)}
}

// userNames caches uid → name: the lookup may go through NSS, and the same
// few operators send every request.
var userNames sync.Map

func userName(uid int) string {
	if n, ok := userNames.Load(uid); ok {
		return n.(string)
	}
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	userNames.Store(uid, name)
	return name
}

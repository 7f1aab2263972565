package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// liveInstances are the instances of stores open in this process. Tests
// (and only tests) run several daemons in one process, where a pid says
// nothing about whether an instance still runs.
var liveInstances sync.Map

// newInstanceID is a random id for one kilnd process: 12 bytes, hex.
func newInstanceID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic("job store: no randomness for an instance id: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// bootID is the kernel's random id of this boot. Two machines cloned from
// one image share a host name and a machine id, but never a boot id.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// instanceGone reports whether the instance a registry row names has
// certainly ended: it ran on this very boot of this machine (same host and
// boot id), and its process is gone, or, in this process, its store is
// closed. An instance elsewhere cannot be checked; only its lease says.
func (s *Store) instanceGone(host, boot string, pid int, instance string) bool {
	if host != s.host || boot == "" || boot != s.bootID || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		_, live := liveInstances.Load(instance)
		return !live
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	// A killed kilnd its parent has not reaped yet is a zombie: it still
	// has its pid, but nothing runs.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself hold spaces or parentheses.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] == 'Z'
	}
	return false
}

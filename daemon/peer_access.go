package daemon

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// peerCanRead reports whether the API's caller could read path itself:
// search permission on every folder above it and read permission on the
// file, by the classic unix rules (owner, then group, then others; root
// reads anything). kilnd reads every file in submit_roots, so without this
// check any member of the socket group could have Kiln copy out a file it
// may not open, into an output folder it can read. ACLs are not consulted:
// a file an ACL opens to the caller but its mode does not is refused, which
// errs on the safe side.
//
// The folders are checked along both the path as the caller wrote it and
// its resolved form, since opening it walks through both.
func peerCanRead(p peerCred, raw, resolved string) error {
	if p.uid == 0 {
		return nil
	}
	groups := peerGroups(p)
	check := func(path string, want uint32) error {
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("%s cannot be examined: %w", path, err)
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s has no unix owner", path)
		}
		if !modeAllows(sys, p.uid, groups, want) {
			return fmt.Errorf("%s is %s, owned by uid %d gid %d", path, st.Mode().Perm(), sys.Uid, sys.Gid)
		}
		return nil
	}
	for _, path := range []string{raw, resolved} {
		for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
			if err := check(dir, 1); err != nil {
				return err
			}
			if dir == "/" {
				break
			}
		}
	}
	return check(resolved, 4)
}

// modeAllows applies the permission bits (4 read, 1 search) that the kernel
// would for uid with groups: only the first class that matches counts, so
// an owner without the read bit is refused even when others may read.
func modeAllows(st *syscall.Stat_t, uid int, groups map[int]bool, want uint32) bool {
	mode := st.Mode & 0o777
	switch {
	case int(st.Uid) == uid:
		return (mode>>6)&want == want
	case groups[int(st.Gid)]:
		return (mode>>3)&want == want
	default:
		return mode&want == want
	}
}

// peerGroups is the caller's primary group and supplementary groups.
// SO_PEERCRED gives the primary one only; the others come from the caller's
// /proc entry, used only if it still belongs to that uid (a pid can be
// reused), else from the group database.
func peerGroups(p peerCred) map[int]bool {
	groups := map[int]bool{p.gid: true}
	if gs, ok := procGroups(p.pid, p.uid); ok {
		for _, g := range gs {
			groups[g] = true
		}
		return groups
	}
	if u, err := user.LookupId(strconv.Itoa(p.uid)); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if g, err := strconv.Atoi(id); err == nil {
					groups[g] = true
				}
			}
		}
	}
	return groups
}

// procGroups reads the Groups: line of /proc/PID/status, if the process
// there runs as uid.
func procGroups(pid, uid int) ([]int, bool) {
	if pid <= 0 {
		return nil, false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var groups []int
	uidOK, seenGroups := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(val)
		switch key {
		case "Uid":
			// real, effective, saved, filesystem: access is by the last.
			uidOK = len(fields) == 4 && fields[3] == strconv.Itoa(uid)
		case "Groups":
			seenGroups = true
			for _, f := range fields {
				if g, err := strconv.Atoi(f); err == nil {
					groups = append(groups, g)
				}
			}
		}
	}
	return groups, uidOK && seenGroups
}

package intake

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// OpenForWriting reports whether a process other than this one holds the file
// open for writing, which a copy or a recorder in progress does even while it
// pauses longer than the settle time; see OpenForWritingSeen.
func OpenForWriting(path string) (bool, error) {
	open, _, err := OpenForWritingSeen(path)
	return open, err
}

// OpenForWritingSeen is OpenForWriting that also counts the processes whose
// descriptors it could not see: those of other users, when kilnd runs as its
// own user (User=kiln) without CAP_SYS_PTRACE. unseen > 0 means a writer of
// another user would go unnoticed; the watch folder then waits longer, and
// says why. It reads /proc/PID/fd of every process.
//
// What it cannot see in any case, and why settle remains the main guard:
// writers on another machine (SMB, NFS).
//
// To keep a scan of a thousand processes fast, a descriptor is examined (stat
// and fdinfo) only when its link target has the file's base name; the stat
// then compares device and inode, so another file of the same name elsewhere,
// or a path seen through another mount namespace, is judged correctly. A
// writer that opened the file under another hard link is missed.
func OpenForWritingSeen(path string) (open bool, unseen int, err error) {
	target, err := os.Stat(path)
	if err != nil {
		return false, 0, fmt.Errorf("checking for writers: %w", err)
	}
	base := filepath.Base(path)
	self := os.Getpid()

	names, err := readDirNames("/proc")
	if err != nil {
		return false, 0, fmt.Errorf("checking for writers: reading /proc: %w", err)
	}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		writes, denied := processWrites(name, base, target)
		if writes {
			return true, unseen, nil
		}
		if denied {
			unseen++
		}
	}
	return false, unseen, nil
}

// processWrites scans one process's descriptors. A process whose fd folder
// cannot be read counts as not writing; denied says that was for want of
// permission (another user's process), not because it has just exited.
//
// It uses raw system calls rather than os.Open and os.Readlink: a scan makes
// tens of thousands of these calls, and skipping the runtime poller and the
// per-call allocations makes it several times faster.
func processWrites(pid, base string, target os.FileInfo) (writes, denied bool) {
	fdDir := "/proc/" + pid + "/fd/"
	fds, err := readDirNames(fdDir)
	if err != nil {
		return false, errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
	}
	var buf [4096]byte
	for _, fd := range fds {
		n, err := syscall.Readlink(fdDir+fd, buf[:])
		if err != nil || n == 0 {
			continue
		}
		link := buf[:n]
		// Sockets, pipes and anonymous inodes read "socket:[…]" and the like.
		if link[0] != '/' || string(link[bytes.LastIndexByte(link, '/')+1:]) != base {
			continue
		}
		info, err := os.Stat(fdDir + fd)
		if err != nil || !os.SameFile(info, target) {
			continue
		}
		if fdWritable("/proc/" + pid + "/fdinfo/" + fd) {
			return true, false
		}
	}
	return false, false
}

// readDirNames lists a /proc folder with getdents.
func readDirNames(dir string) ([]string, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var (
		names []string
		buf   [8192]byte
	)
	for {
		n, err := syscall.ReadDirent(fd, buf[:])
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}

// fdWritable reads the "flags:" line of /proc/PID/fdinfo/FD, an octal number,
// and checks its access mode for O_WRONLY or O_RDWR.
func fdWritable(fdinfo string) bool {
	b, err := os.ReadFile(fdinfo)
	if err != nil {
		return false
	}
	for line := range bytes.Lines(b) {
		v, found := bytes.CutPrefix(line, []byte("flags:"))
		if !found {
			continue
		}
		flags, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 64)
		if err != nil {
			return false
		}
		mode := flags & syscall.O_ACCMODE
		return mode == syscall.O_WRONLY || mode == syscall.O_RDWR
	}
	return false
}

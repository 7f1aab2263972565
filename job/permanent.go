package job

import (
	"errors"
	"syscall"
)

// permanentErrnos are the system's refusals that running a job again does
// not change: someone must fix the folder, the mount or the name first.
// A full disk (ENOSPC) is not among them (other jobs free space as they
// end), nor are a crash, a kill or an allocation that failed.
var permanentErrnos = map[syscall.Errno]string{
	syscall.EROFS:        "the output folder is on a read-only filesystem",
	syscall.EACCES:       "permission denied",
	syscall.EPERM:        "operation not permitted",
	syscall.ENAMETOOLONG: "a file name is too long for the filesystem (at most 255 bytes per name)",
}

// PermanentErrno reports whether errno is a refusal that retrying cannot
// cure, with a sentence that says what it means for a job.
func PermanentErrno(errno syscall.Errno) (string, bool) {
	why, ok := permanentErrnos[errno]
	return why, ok
}

// PermanentOS reports whether err wraps such a refusal.
func PermanentOS(err error) (string, bool) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "", false
	}
	return PermanentErrno(errno)
}

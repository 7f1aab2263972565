package config

import (
	"errors"
	"io/fs"
	"strconv"
)

// defaultOutputMode lets kilnd's group read deliverables and nobody else:
// playout accounts join the group kiln rather than the world reading the
// output folders.
const defaultOutputMode = fs.FileMode(0o750)

// parseOutputMode reads "0750" or "2750". The owner (kilnd) must keep rwx to
// publish and later remove, and nobody else may write: a deliverable that a
// playout account can change is no longer the one Kiln verified.
func parseOutputMode(s string) (fs.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o7777 || len(s) < 3 {
		return 0, errors.New(`is not an octal mode; write it like "0750" or "2750" (setgid)`)
	}
	if v&0o700 != 0o700 {
		return 0, errors.New("must give the owner (kilnd) rwx (7 in the owner digit)")
	}
	if v&0o022 != 0 {
		return 0, errors.New("may not let group or others write: published outputs are read-only to everyone but kilnd")
	}
	if v&0o5000 != 0 {
		return 0, errors.New("may set setgid (2xxx), but not setuid or sticky")
	}
	m := fs.FileMode(v & 0o777)
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	return m, nil
}

// modeBits is the octal value of m's setgid bit, for printing.
func modeBits(m fs.FileMode) uint32 {
	if m&fs.ModeSetgid != 0 {
		return 0o2000
	}
	return 0
}

// OutputFileMode is the mode of a published file: the folder mode without
// execute and setgid.
func OutputFileMode(dir fs.FileMode) fs.FileMode {
	return dir.Perm() &^ 0o111
}

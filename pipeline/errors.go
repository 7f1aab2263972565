package pipeline

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/asticode/go-astiav"

	"kiln/job"
	"kiln/pipeline/plan"
)

// InputError means the source itself is unusable: empty, not media, no video,
// truncated, an unsupported codec. Running the job again cannot help, so the
// daemon fails it at once and moves the source to failed/ with Reason. The
// planner makes most of them, so the type is the plan package's.
type InputError = plan.InputError

// ProfileError means the profile cannot apply to this source, or asks for
// something this build cannot make. It is permanent too.
type ProfileError = plan.ProfileError

func inputErrorf(err error, format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// Permanent reports whether err cannot be cured by running the job again:
// a bad source or profile, the refusal to start a job its output folder
// cannot hold, and the system's refusals that stay until someone acts (a
// read-only output, permission denied, a name too long; job.PermanentOS),
// whether Go or libav met them. A crash, a kill, an allocation that failed
// or a disk that filled during the write may pass, and are retried.
func Permanent(err error) bool {
	var ie *InputError
	var pe *ProfileError
	var se *SpaceError
	if errors.As(err, &ie) || errors.As(err, &pe) || (errors.As(err, &se) && !se.DuringTheWrite) {
		return true
	}
	_, ok := permanentSystemError(err)
	return ok
}

// permanentSystemError finds a permanent errno in err, as a Go error or as
// the negative errno libav returns.
func permanentSystemError(err error) (string, bool) {
	if why, ok := job.PermanentOS(err); ok {
		return why, true
	}
	var ae astiav.Error
	if errors.As(err, &ae) && int(ae) < 0 {
		return job.PermanentErrno(syscall.Errno(-int(ae)))
	}
	return "", false
}

// Reason turns err into the sentence a person reads in the report, the API and
// S.error.json.
func Reason(err error) string {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	var pe *ProfileError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	var se *SpaceError
	if why, ok := permanentSystemError(err); ok && !errors.As(err, &se) {
		return why + ": " + err.Error()
	}
	if isNoSpace(err) {
		return "no space left on the output device: " + err.Error()
	}
	if isOutOfMemory(err) && !errors.Is(err, errOutOfMemory) {
		return errOutOfMemory.Error() + ": " + err.Error()
	}
	return err.Error()
}

// errOutOfMemory is a worker that ran into its address-space cap.
var errOutOfMemory = errors.New("out of memory: the worker's limit (worker_memory_mb in [daemon]) is too small for this job")

// isOutOfMemory reports an allocation libav could not make.
func isOutOfMemory(err error) bool {
	var ae astiav.Error
	return errors.Is(err, syscall.ENOMEM) || (errors.As(err, &ae) && int(ae) == -int(syscall.ENOMEM))
}

// isNoSpace reports a full disk, whether Go or libav saw it.
func isNoSpace(err error) bool {
	var ae astiav.Error
	return errors.Is(err, syscall.ENOSPC) || (errors.As(err, &ae) && int(ae) == -int(syscall.ENOSPC))
}

// SpaceError means the output filesystem cannot hold a job's outputs.
type SpaceError struct {
	Dir            string
	Need, Free     int64 // bytes
	DuringTheWrite bool
}

func megabytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func (e *SpaceError) Error() string {
	if e.DuringTheWrite {
		return fmt.Sprintf("no space left on %s (needed ~%s)", e.Dir, megabytes(e.Need))
	}
	return fmt.Sprintf("no space left on %s: the outputs need ~%s and %s are free", e.Dir, megabytes(e.Need), megabytes(e.Free))
}

// libav errors that mean the bytes are bad rather than the machine.
func isDataError(err error) bool {
	return errors.Is(err, astiav.ErrInvaliddata) || errors.Is(err, astiav.ErrPatchwelcome) ||
		errors.Is(err, astiav.ErrDecoderNotFound)
}

package store

import "errors"

// Sentinels for the outcomes callers act on. Match them with errors.Is; the
// returned errors wrap them with the job id or path.
var (
	// ErrNotFound: no job (or source) has that id.
	ErrNotFound = errors.New("not found")
	// ErrSourceActive: the file already has unfinished jobs from an earlier
	// drop. It is taken in again only after those jobs have finished.
	ErrSourceActive = errors.New("this file already has unfinished jobs")
	// ErrNotQueued: the change applies only to a job that has not started.
	ErrNotQueued = errors.New("job is no longer queued")
	// ErrNotRunning: the change applies only to a running job.
	ErrNotRunning = errors.New("job is not running")
	// ErrFinished: the job has already finished (done, failed or cancelled).
	ErrFinished = errors.New("job has already finished")
)

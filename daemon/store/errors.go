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
	// ErrAlreadyTaken: this drop of the file (same path, size, mtime and
	// content hash) was taken in before, by this node or another; a node
	// that scans the shared inbox just after another took it sees this.
	ErrAlreadyTaken = errors.New("this drop of the file was taken in already")
	// ErrOutputNameTaken: another unfinished source (of another node, in a
	// fleet) took the same output folder name under the same output folder
	// first; choose another.
	ErrOutputNameTaken = errors.New("the output folder name is taken by another unfinished source")
	// ErrNotQueued: the change applies only to a job that has not started.
	ErrNotQueued = errors.New("job is no longer queued")
	// ErrNotRunning: the change applies only to a running job.
	ErrNotRunning = errors.New("job is not running")
	// ErrFinished: the job has already finished (done, failed or cancelled).
	ErrFinished = errors.New("job has already finished")
	// ErrClaimLost: this node's claim on a running job has ended: the node's
	// lease expired and the job was re-queued, and perhaps claimed by
	// another node. The worker's result no longer counts.
	ErrClaimLost = errors.New("this node's claim on the job has ended")
	// ErrInvalid: the change itself is malformed (a state a job cannot end
	// in, a report that is not JSON); asking again cannot help.
	ErrInvalid = errors.New("invalid change")
	// ErrNodeNameTaken: another live node, on another host, already
	// registered under this node name.
	ErrNodeNameTaken = errors.New("node name is in use by another live node")
)

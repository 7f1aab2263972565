package store

// State is where a job stands. The strings are stored and shown in the API.
type State string

const (
	Queued    State = "queued"
	Running   State = "running"
	Done      State = "done"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// States lists every job state, in lifecycle order.
var States = []State{Queued, Running, Done, Failed, Cancelled}

// Finished reports whether the state is terminal.
func (s State) Finished() bool { return s == Done || s == Failed || s == Cancelled }

// Valid reports whether s is one of the five job states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// SourceState is where a dropped file stands: active while any of its jobs is
// unfinished, then done (every job done) or failed (anything else).
type SourceState string

const (
	SourceActive SourceState = "active"
	SourceDone   SourceState = "done"
	SourceFailed SourceState = "failed"
)

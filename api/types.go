// Package api holds the bodies of Kiln's local HTTP/JSON API (api/openapi.json;
// docs/ARCHITECTURE.md, "Packages"),
// shared by the daemon that serves them and the kiln client that reads them.
// It is plain data: no logic, no dependencies beyond the standard library.
package api

import (
	"encoding/json"
	"time"
)

// Health is the body of GET /v1/health.
type Health struct {
	Status      string  `json:"status"` // ok | degraded
	Version     string  `json:"version"`
	Uptime      float64 `json:"uptime_seconds"`
	QueueDepth  int     `json:"queue_depth"`
	Running     int     `json:"running"`
	ReloadError string  `json:"reload_error,omitempty"` // the last rejected reload
	// Notes are what the watch folders want an operator to know: a missing
	// inbox (status degraded), entries an inbox holds that Kiln never takes
	// in, with the reason.
	Notes []string `json:"notes,omitempty"`
}

// Job is a job as the API shows it.
type Job struct {
	ID         int64           `json:"id"`
	Source     string          `json:"source"`
	Profile    string          `json:"profile"`
	Watch      string          `json:"watch,omitempty"`
	Priority   string          `json:"priority"`
	State      string          `json:"state"` // queued | running | done | failed | cancelled
	Attempts   int             `json:"attempts"`
	Node       string          `json:"node,omitempty"` // the fleet node that claimed it last
	Reason     string          `json:"reason,omitempty"`
	Output     string          `json:"output"` // the job's output folder
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	Progress   Progress        `json:"progress"`
	Report     json.RawMessage `json:"report,omitempty"` // GET /v1/jobs/{id} once finished
}

// Progress is a job's progress.
type Progress struct {
	Fraction float64 `json:"fraction"` // 0..1
	FPS      float64 `json:"fps"`
	Frames   int64   `json:"frames"`
	ETA      float64 `json:"eta_seconds"`
	Stage    string  `json:"stage,omitempty"`
}

// SubmitRequest is the body of POST /v1/jobs.
type SubmitRequest struct {
	Source   string `json:"source"`
	Profile  string `json:"profile"`
	Priority string `json:"priority,omitempty"`
	// Output is the output root; the default is <state_dir>/out.
	Output string `json:"output,omitempty"`
}

// Created is the body of 201 answers.
type Created struct {
	ID int64 `json:"id"`
}

// PatchJob is the body of PATCH /v1/jobs/{id}.
type PatchJob struct {
	Priority string `json:"priority"`
}

// Error is the body of every error answer.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody says what went wrong.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Hardware is the body of GET /v1/hardware: what the host offers for
// encoding, and the backend the kernels run on. Each capability that is
// missing says why, in words a person can act on.
type Hardware struct {
	Backend string     `json:"backend"` // cpu | cuda
	CUDA    Capability `json:"cuda"`
	// NVENC is judged per codec (h264, hevc): a GPU may encode one and not
	// the other, and some data-centre GPUs have no encoder at all.
	NVENC map[string]Capability `json:"nvenc"`
	NVDEC Capability            `json:"nvdec"`
	GPUs  []GPU                 `json:"gpus"`
	// NVENCSessions counts the encoder sessions Kiln's running jobs hold:
	// one per H.264/HEVC rendition that encodes on NVENC.
	NVENCSessions int `json:"nvenc_sessions_in_use"`
	// NVENCSessionLimit is how many sessions the jobs may hold at once,
	// and NVENCSessionLimitReason what sets it ("nvenc_sessions = 3", "the
	// GeForce driver's limit of 8", "NVIDIA H100 … has no NVENC engine").
	NVENCSessionLimit       int       `json:"nvenc_session_limit"`
	NVENCSessionLimitReason string    `json:"nvenc_session_limit_reason"`
	ProbedAt                time.Time `json:"probed_at"`
}

// Capability is one feature of the host.
type Capability struct {
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"` // why not, when not available
}

// GPU is one CUDA device the probe found.
type GPU struct {
	Index             int    `json:"index"`
	Name              string `json:"name"`
	ComputeCapability string `json:"compute_capability"` // "8.6"
	MemoryBytes       int64  `json:"memory_bytes"`
}

// Reloaded is the body of a successful POST /v1/reload.
type Reloaded struct {
	Config   string `json:"config"` // where the config was read from
	Watches  int    `json:"watches"`
	Profiles int    `json:"profiles"`
}

// Resources is what a job's worker process used, from its rusage. The daemon
// adds it to the job's report as "resources".
type Resources struct {
	CPUSeconds    float64 `json:"cpu_seconds"` // user + system
	UserSeconds   float64 `json:"user_seconds"`
	SystemSeconds float64 `json:"system_seconds"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
	WallSeconds   float64 `json:"wall_seconds"`
}

// Server-sent events of GET /v1/jobs/{id}/events. Each event's data is a Job
// on one line. EventProgress comes whenever the job's state or progress
// changed (at most a few times a second); EventEnd comes once the job has
// finished, with its report, and ends the stream.
const (
	EventProgress = "progress"
	EventEnd      = "end"
)

// Node is one appliance sharing the job store, as GET /v1/nodes lists it.
type Node struct {
	Name        string    `json:"name"`
	Host        string    `json:"host"`
	Self        bool      `json:"self"` // the node that answered
	Up          bool      `json:"up"`   // its lease runs
	Version     string    `json:"version"`
	Slots       int       `json:"slots"`     // CPU and GPU worker slots together
	GPUSlots    int       `json:"gpu_slots"` // of which on the GPU worker
	Running     int       `json:"running"`
	RunningGPU  int       `json:"running_gpu"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	LeaseUntil  time.Time `json:"lease_until"`
	Hardware    *Hardware `json:"hardware,omitempty"` // its last hardware probe

	// Instance is the kilnd process holding the name: random, new at every
	// start. A second live instance under the name is refused at start.
	Instance string `json:"instance"`
}

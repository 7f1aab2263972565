// Package config holds Kiln's configuration: the TOML contract of the README
// ("Configuration"; its place among the packages: docs/ARCHITECTURE.md, "Packages"),
// decoded strictly, filled with defaults and validated into an immutable value.
//
// It is pure Go and touches nothing but the config text: no files beyond the one
// it is asked to read, no libav, no CUDA. The one exception is CheckFolders,
// which looks at (and never changes) the folders a config names. The daemon, the worker and the
// transcode command all read the same value, so a profile means the same thing
// everywhere.
package config

import (
	"io/fs"
	"time"

	"kiln/dsn"
)

// Config is the whole, validated configuration. Treat it as immutable: a reload
// builds a new Config and swaps it in whole.
//
// The json tags repeat the TOML names, so that the API shows a profile or a
// watch with the keys a user writes in the config.
type Config struct {
	Daemon   Daemon              `toml:"daemon" json:"daemon"`
	Watches  []Watch             `toml:"watch" json:"watch"`
	Profiles map[string]*Profile `toml:"profile" json:"profile"`

	// Origin names where the config came from: a file path, or
	// "<embedded default>". It is used in error messages.
	Origin string `toml:"-" json:"-"`
}

// Daemon is the [daemon] table.
type Daemon struct {
	StateDir string `toml:"state_dir" json:"state_dir"` // job store, staging
	Socket   string `toml:"socket" json:"socket"`
	CPUJobs  int    `toml:"cpu_jobs" json:"cpu_jobs"` // concurrent CPU jobs
	GPUJobs  int    `toml:"gpu_jobs" json:"gpu_jobs"` // concurrent jobs per GPU
	// NVENCSessions caps the NVENC encode sessions Kiln's jobs hold at
	// once, one per H.264/HEVC rendition; 0 takes the limit the hardware
	// probe finds (a GeForce driver's, none on a GPU without NVENC).
	NVENCSessions int `toml:"nvenc_sessions" json:"nvenc_sessions"`

	// Additions to the contract.
	Rescan      Duration `toml:"rescan" json:"rescan"`             // periodic inbox rescan; network shares send no events
	MaxAttempts int      `toml:"max_attempts" json:"max_attempts"` // a crashed worker's job is retried up to this many runs
	LogLevel    string   `toml:"log_level" json:"log_level"`       // debug | info | warn | error
	// StopGrace is how long running jobs may go on after SIGTERM before
	// their workers are stopped and the jobs re-queued. systemd's
	// TimeoutStopSec must be longer, or systemd kills them first.
	StopGrace Duration `toml:"stop_grace" json:"stop_grace"`
	// SocketGroup owns the API socket (mode 0660), so that its members can
	// use the kiln CLI; "" keeps the daemon's own group.
	SocketGroup string `toml:"socket_group" json:"socket_group"`
	// SubmitRoots are the folders whose files may be submitted over the API;
	// outputs may go under them too. Nothing
	// outside them is read, so a client cannot make kilnd open /etc/shadow
	// or a device.
	SubmitRoots []string `toml:"submit_roots" json:"submit_roots"`
	// WorkerMemoryMB caps each worker's address space (RLIMIT_AS): a hostile
	// file that makes a decoder allocate without bound fails its own job.
	WorkerMemoryMB int `toml:"worker_memory_mb" json:"worker_memory_mb"`
	// JobTimeoutFactor bounds a job's run time relative to its source: at
	// most 2 minutes plus this many times the source's duration.
	JobTimeoutFactor int `toml:"job_timeout_factor" json:"job_timeout_factor"`
	// WorkerStallTimeout is how long a worker may send nothing (no
	// progress) before kilnd takes it for hung (stopped, deadlocked),
	// kills it and retries the job. It is also the grace kilnd gives a
	// worker past the time limit the worker announced, before kilnd
	// enforces that limit itself.
	WorkerStallTimeout Duration `toml:"worker_stall_timeout" json:"worker_stall_timeout"`
	// APIConnections caps the API socket's open connections, and
	// APIConnectionsPerUser those of one user (by SO_PEERCRED uid), so
	// that clients cannot use up kilnd's file descriptors.
	APIConnections        int `toml:"api_connections" json:"api_connections"`
	APIConnectionsPerUser int `toml:"api_connections_per_user" json:"api_connections_per_user"`

	// Store is the job store: "" for the embedded SQLite file in
	// state_dir, or a postgres:// URL for a store that several appliances
	// (a fleet) share. Print it only through StoreRedacted.
	Store string `toml:"store" json:"store"`
	// StorePasswordFile holds the store's password, so that the config
	// need not: an absolute path, or "$CREDENTIALS_DIRECTORY/NAME" for a
	// systemd credential (LoadCredential=NAME:FILE). Read with StoreURL.
	StorePasswordFile string `toml:"store_password_file" json:"store_password_file"`
	// NodeName names this appliance in a fleet's node registry; "" means
	// the machine's host name.
	NodeName string `toml:"node_name" json:"node_name"`
	// Lease is how long a node's claim on its running jobs outlives its
	// last heartbeat (sent every lease/3); a node silent for longer is
	// taken for dead and its jobs go to the other nodes.
	Lease Duration `toml:"lease" json:"lease"`
	// OutputMode is the permission of published output folders, in octal
	// ("0750", "2750" with setgid); their files get the same bits without
	// execute and setgid. Group-readable by default, so that playout
	// accounts in kilnd's group can read deliverables.
	OutputMode string `toml:"output_mode" json:"output_mode"`
}

// OutputDirMode is OutputMode as a file mode for folders.
func (d Daemon) OutputDirMode() fs.FileMode { return OutputDirMode(d.OutputMode) }

// OutputDirMode reads an output_mode value; "" or a value validation would
// refuse gives the default, 0750.
func OutputDirMode(s string) fs.FileMode {
	m, err := parseOutputMode(s)
	if err != nil {
		return defaultOutputMode
	}
	return m
}

// StoreRedacted is Store fit to print: a password in the URL is replaced by
// xxxxx.
func (d Daemon) StoreRedacted() string {
	if d.Store == "" {
		return ""
	}
	return dsn.Redact(d.Store)
}

// Watch is one [[watch]] table: an inbox, where its outputs go, and which
// profiles each file in it is run through.
type Watch struct {
	Name     string   `toml:"name" json:"name"`
	Inbox    string   `toml:"inbox" json:"inbox"`
	Output   string   `toml:"output" json:"output"`
	Profiles []string `toml:"profiles" json:"profiles"`
	Priority string   `toml:"priority" json:"priority"` // high | normal | low; "" keeps the profile's
	Settle   Duration `toml:"settle" json:"settle"`
	// IncompleteTimeout is how long a file may sit unchanged yet
	// structurally incomplete (an MP4 without its moov, a TS cut mid-packet)
	// before it goes to failed/ with the reason.
	IncompleteTimeout Duration `toml:"incomplete_timeout" json:"incomplete_timeout"`
	// OnRedrop says what a file dropped again under a name already
	// delivered to this watch's output gets: "version" publishes it next to
	// the earlier delivery (<output>/S~2/P/), "fail" files it to failed/
	// with the reason. Nothing published is ever replaced.
	OnRedrop string `toml:"on_redrop" json:"on_redrop"`
}

// Profile is one [profile.NAME] table. Which keys apply depends on Kind.
type Profile struct {
	Name string `toml:"-" json:"name"` // the NAME of [profile.NAME], filled in by Load

	Kind       string `toml:"kind" json:"kind"`               // broadcast | abr | file
	Standard   string `toml:"standard" json:"standard"`       // broadcast: pal | ntsc | secam
	Codec      string `toml:"codec" json:"codec"`             // broadcast: mpeg2 | h264 | d10; file: h264 | hevc | mpeg2 | prores | ffv1
	FieldOrder string `toml:"field_order" json:"field_order"` // broadcast: tff | bff (default tff)
	Aspect     string `toml:"aspect" json:"aspect"`           // broadcast: 4:3 | 16:9
	Fit        string `toml:"fit" json:"fit"`                 // letterbox | pillarbox | stretch | crop
	Container  string `toml:"container" json:"container"`     // broadcast: ts | mxf; file: mov | mp4 | mkv | ts | mxf

	VideoBitrate Bitrate `toml:"video_bitrate" json:"video_bitrate"`
	Audio        Audio   `toml:"audio" json:"audio"`
	Priority     string  `toml:"priority" json:"priority"` // high | normal | low

	// abr only.
	Formats    []string    `toml:"formats" json:"formats"` // hls | dash | smooth
	Segment    Duration    `toml:"segment" json:"segment"`
	Package    string      `toml:"package" json:"package"` // dir | tar
	Encryption *Encryption `toml:"encryption" json:"encryption,omitempty"`

	// Optional for every kind.
	Width           int         `toml:"width" json:"width"`
	Height          int         `toml:"height" json:"height"`
	FrameRate       string      `toml:"frame_rate" json:"frame_rate"`               // "25", "30000/1001", "29.97"; "" keeps the source's
	FrameRateMethod string      `toml:"frame_rate_method" json:"frame_rate_method"` // mc | blend | dup
	Deinterlace     string      `toml:"deinterlace" json:"deinterlace"`             // auto | on | off
	ScaleFilter     string      `toml:"scale_filter" json:"scale_filter"`           // lanczos | bicubic
	Watermark       *Watermark  `toml:"watermark" json:"watermark,omitempty"`
	Thumbnails      *Thumbnails `toml:"thumbnails" json:"thumbnails,omitempty"`
}

// Audio is a profile's audio settings.
type Audio struct {
	Codec    string   `toml:"codec" json:"codec"`                 // aac | mp2 | ac3 | pcm
	Bitrate  Bitrate  `toml:"bitrate" json:"bitrate"`             // ignored for pcm
	Loudness *float64 `toml:"loudness" json:"loudness,omitempty"` // target in LUFS; nil leaves levels alone
}

// Encryption is an abr profile's encryption settings.
type Encryption struct {
	Method string `toml:"method" json:"method"`   // aes-128
	KeyURI string `toml:"key_uri" json:"key_uri"` // template; {job} is replaced by the job id, {key} by the key number
	// Rotate starts a new key every this many segments; 0 keeps one key per
	// job. Rotation needs {key} in key_uri, so each key has its own URI.
	Rotate int `toml:"rotate" json:"rotate,omitempty"`
}

// Watermark overlays an RGBA image on every frame.
type Watermark struct {
	Image    string  `toml:"image" json:"image"`
	Position string  `toml:"position" json:"position"` // top-left | top-right | bottom-left | bottom-right | center
	Opacity  float64 `toml:"opacity" json:"opacity"`   // 0..1
}

// Thumbnails asks for a still every so often.
type Thumbnails struct {
	Every Duration `toml:"every" json:"every"`
}

// Duration is a time.Duration written in TOML as a Go duration string ("5s").
type Duration struct{ time.Duration }

// Bitrate is a rate in bits per second, written in TOML as "8M", "256k" or "2400000".
type Bitrate int64

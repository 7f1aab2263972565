// Package config holds Kiln's configuration: the TOML contract of DESIGN.md §2,
// decoded strictly, filled with defaults and validated into an immutable value.
//
// It is pure Go and touches nothing but the config text: no files beyond the one
// it is asked to read, no libav, no CUDA. The daemon, the worker and the
// transcode command all read the same value, so a profile means the same thing
// everywhere.
package config

import "time"

// Config is the whole, validated configuration. Treat it as immutable: a reload
// builds a new Config and swaps it in whole.
type Config struct {
	Daemon   Daemon              `toml:"daemon"`
	Watches  []Watch             `toml:"watch"`
	Profiles map[string]*Profile `toml:"profile"`

	// Origin names where the config came from: a file path, or
	// "<embedded default>". It is used in error messages.
	Origin string `toml:"-"`
}

// Daemon is the [daemon] table.
type Daemon struct {
	StateDir string `toml:"state_dir"` // job store, staging
	Socket   string `toml:"socket"`
	CPUJobs  int    `toml:"cpu_jobs"` // concurrent CPU jobs
	GPUJobs  int    `toml:"gpu_jobs"` // concurrent jobs per GPU

	// Additions to the contract.
	Rescan      Duration `toml:"rescan"`       // periodic inbox rescan; network shares send no events
	MaxAttempts int      `toml:"max_attempts"` // a crashed worker's job is retried up to this many runs
	LogLevel    string   `toml:"log_level"`    // debug | info | warn | error
}

// Watch is one [[watch]] table: an inbox, where its outputs go, and which
// profiles each file in it is run through.
type Watch struct {
	Name     string   `toml:"name"`
	Inbox    string   `toml:"inbox"`
	Output   string   `toml:"output"`
	Profiles []string `toml:"profiles"`
	Priority string   `toml:"priority"` // high | normal | low; "" keeps the profile's
	Settle   Duration `toml:"settle"`
}

// Profile is one [profile.NAME] table. Which keys apply depends on Kind.
type Profile struct {
	Name string `toml:"-"` // the NAME of [profile.NAME], filled in by Load

	Kind      string `toml:"kind"`      // broadcast | abr | file
	Standard  string `toml:"standard"`  // broadcast: pal | ntsc | secam
	Codec     string `toml:"codec"`     // broadcast: mpeg2 | h264 | d10; file: h264 | hevc | mpeg2 | prores | ffv1
	Aspect    string `toml:"aspect"`    // broadcast: 4:3 | 16:9
	Fit       string `toml:"fit"`       // letterbox | pillarbox | stretch | crop
	Container string `toml:"container"` // broadcast: ts | mxf; file: mov | mp4 | mkv | ts | mxf

	VideoBitrate Bitrate `toml:"video_bitrate"`
	Audio        Audio   `toml:"audio"`
	Priority     string  `toml:"priority"` // high | normal | low

	// abr only.
	Formats    []string    `toml:"formats"` // hls | dash | smooth
	Segment    Duration    `toml:"segment"`
	Package    string      `toml:"package"` // dir | tar
	Encryption *Encryption `toml:"encryption"`

	// Optional for every kind.
	Width           int         `toml:"width"`
	Height          int         `toml:"height"`
	FrameRate       string      `toml:"frame_rate"`        // "25", "30000/1001", "29.97"; "" keeps the source's
	FrameRateMethod string      `toml:"frame_rate_method"` // mc | blend | dup
	Deinterlace     string      `toml:"deinterlace"`       // auto | on | off
	ScaleFilter     string      `toml:"scale_filter"`      // lanczos | bicubic
	Watermark       *Watermark  `toml:"watermark"`
	Thumbnails      *Thumbnails `toml:"thumbnails"`
}

// Audio is a profile's audio settings.
type Audio struct {
	Codec    string   `toml:"codec"`    // aac | mp2 | ac3 | pcm
	Bitrate  Bitrate  `toml:"bitrate"`  // ignored for pcm
	Loudness *float64 `toml:"loudness"` // target in LUFS; nil leaves levels alone
}

// Encryption is an abr profile's encryption settings.
type Encryption struct {
	Method string `toml:"method"`  // aes-128
	KeyURI string `toml:"key_uri"` // template; {job} is replaced by the job id
}

// Watermark overlays an RGBA image on every frame.
type Watermark struct {
	Image    string  `toml:"image"`
	Position string  `toml:"position"` // top-left | top-right | bottom-left | bottom-right | center
	Opacity  float64 `toml:"opacity"`  // 0..1
}

// Thumbnails asks for a still every so often.
type Thumbnails struct {
	Every Duration `toml:"every"`
}

// Duration is a time.Duration written in TOML as a Go duration string ("5s").
type Duration struct{ time.Duration }

// Bitrate is a rate in bits per second, written in TOML as "8M", "256k" or "2400000".
type Bitrate int64

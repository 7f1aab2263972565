// Package job holds what travels between the daemon and a worker process: the
// job spec the daemon hands over, the progress and result messages the worker
// sends back, and the report that ends up next to the outputs.
//
// It is plain data and pure Go. It must not import libav, CUDA or the daemon, so
// that both sides of the process boundary (and the API) can share it.
package job

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"kiln/config"
)

// Spec is everything a worker needs to run one job. The daemon writes it as JSON
// on the worker's standard input; `kilnd transcode` builds it in-process.
type Spec struct {
	ID      int64          `json:"id"`
	Source  string         `json:"source"`  // absolute path of the source file
	Profile config.Profile `json:"profile"` // the resolved profile, so a reload cannot change a running job
	// OutputRoot is the watch's output folder. Outputs land in
	// OutputRoot/<source name>/<profile>/ and are staged in
	// OutputRoot/.kiln-staging/ so that the final rename stays on one filesystem.
	OutputRoot string `json:"output_root"`
	// OutputName is the S of OutputRoot/S/P/ and of S.kiln.json: "" for the
	// source's file name without its extension, or the name the daemon chose
	// so that this delivery cannot replace another of the same stem ("a.mov"
	// beside an earlier "a.mp4", "a~2" for a file dropped again).
	OutputName string `json:"output_name,omitempty"`
	// OutputNote says why OutputName is not the stem; the report carries it
	// as a warning.
	OutputNote string `json:"output_note,omitempty"`
	// OutputMode is the mode of published folders in octal ("0750", "2750");
	// "" for the default, group-readable.
	OutputMode string `json:"output_mode,omitempty"`
	// BackendNote says why the job runs on the backend it does, when that is
	// not the one a user would expect ("no CUDA device: …; kernels on the
	// CPU"). The report carries it as backend_note.
	BackendNote string `json:"backend_note,omitempty"`
	// Limits bound what one job may take of the machine.
	Limits Limits `json:"limits"`
	// NVENCSessions is how many of the job's H.264 and HEVC renditions may
	// encode with NVENC (an ABR job has one per rung): the encode sessions
	// the daemon granted it under the machine's limit, which it holds until
	// the job ends. The other renditions encode with x264 or x265, and the
	// worker falls back to them, with a warning, when NVENC cannot open.
	NVENCSessions int `json:"nvenc_sessions,omitempty"`
	// NVENCNote says why the job got fewer sessions than it has renditions
	// ("NVENC session limit 3 reached"); the report repeats it for each
	// rendition that encoded in software. "" when nothing was held back.
	NVENCNote string `json:"nvenc_note,omitempty"`
	// NVDEC asks the worker to decode the video through libav's CUDA
	// hwaccel where the codec has one (the daemon sets it on the GPU worker
	// when the probe could make a CUDA device); the worker decodes in
	// software, and the report says why, when it cannot.
	NVDEC bool `json:"nvdec,omitempty"`
}

// UnmarshalJSON reads a spec, including one from a daemon older than
// session accounting, whose "nvenc": true asked for NVENC on the job's one
// rendition: kilnd and the GPU worker (built apart, with make cuda) may be
// upgraded apart.
func (s *Spec) UnmarshalJSON(b []byte) error {
	type plain Spec // without this method, so that decoding does not recurse
	var v struct {
		plain
		LegacyNVENC bool `json:"nvenc"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Spec(v.plain)
	if v.LegacyNVENC && s.NVENCSessions == 0 {
		s.NVENCSessions = 1
	}
	return nil
}

// Limits bound a job's resources, so that a hostile file fails its own job
// instead of starving the appliance.
type Limits struct {
	// MemoryBytes caps the CPU worker's address space (RLIMIT_AS); 0 for none.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// TimeoutFactor bounds the run time to 2 minutes plus this many times
	// the source's duration; 0 for none.
	TimeoutFactor int `json:"timeout_factor,omitempty"`
}

// Message is one line of the worker's standard output: exactly one field is set.
type Message struct {
	Progress *Progress `json:"progress,omitempty"`
	Result   *Result   `json:"result,omitempty"`
}

// Progress reports how far a running job is.
type Progress struct {
	Frames   int64   `json:"frames"`
	FPS      float64 `json:"fps"`
	Fraction float64 `json:"fraction"` // 0..1 of the source duration
	Stage    string  `json:"stage,omitempty"`
	// TimeLimitSeconds, once the worker knows its source's duration, is
	// the run time it allows the job (Limits.TimeoutFactor). kilnd stops
	// a worker still running that long after its start, plus
	// worker_stall_timeout, in case the worker's own timer cannot fire.
	TimeLimitSeconds float64 `json:"time_limit_s,omitempty"`
}

// Result ends a worker's output.
type Result struct {
	OK bool `json:"ok"`
	// Reason is a sentence a person can act on, such as "no video stream" or
	// "truncated at 12.4 s".
	Reason string `json:"reason,omitempty"`
	// Permanent is true when running the job again cannot help (the source is
	// bad, the profile cannot apply). A crash or an I/O error is not permanent.
	Permanent bool    `json:"permanent,omitempty"`
	Report    *Report `json:"report,omitempty"`
	// PeakRSSBytes is the worker's own peak resident memory (VmHWM), read
	// just before it sends the result. The daemon cannot learn it from
	// wait4: a child started with vfork inherits its parent's ru_maxrss.
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
}

// WriteMessage writes m as one JSON line.
func WriteMessage(w io.Writer, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding worker message: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// OutputFolder is the S of OutputRoot/S/P/: OutputName, or the source's file
// name without its extension.
func (s Spec) OutputFolder() string {
	if s.OutputName != "" {
		return s.OutputName
	}
	base := filepath.Base(s.Source)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// PublishMode is OutputMode as the mode of published folders.
func (s Spec) PublishMode() fs.FileMode {
	return config.OutputDirMode(s.OutputMode)
}

package job

import "time"

// Report is written next to a job's outputs as <source>.kiln.json and kept in
// the job store. It explains what Kiln did and why, and proves what it wrote.
type Report struct {
	Kiln    string `json:"kiln"` // version that wrote it
	JobID   int64  `json:"job_id"`
	Profile string `json:"profile"`
	Source  string `json:"source"`

	SourceProbe MediaInfo `json:"source_probe"`
	// Plan is the job's plan in words, one decision a line, such as
	// "1080i25 TFF → 576i25 TFF, fields kept (each field scaled on its own)".
	Plan []string `json:"plan"`
	// Backends names what ran each stage: decode, video_process, video_encode,
	// audio_encode, mux, and whether it was cpu or cuda.
	Backends map[string]string `json:"backends"`
	// BackendNote says why the kernels ran where they did when the GPU was
	// expected but not used ("GPU backend unavailable (no CUDA device)…").
	BackendNote string `json:"backend_note,omitempty"`

	Outputs []Output `json:"outputs"`
	// Loudness is measured on each audio track before and after, when the
	// profile sets a target.
	Loudness []Loudness `json:"loudness,omitempty"`
	Checks   []Check    `json:"checks"`
	Warnings []string   `json:"warnings"`
	Timings  Timings    `json:"timings"`
	// ABR describes the package of an adaptive-bitrate job.
	ABR *ABRReport `json:"abr,omitempty"`
}

// Output is one file a job delivered, with what a probe of it found.
type Output struct {
	Name   string    `json:"name"` // file name inside the job's output folder
	Path   string    `json:"path"` // final absolute path
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
	Probe  MediaInfo `json:"probe"`
}

// Check is one verification of an output against what the plan asked for.
type Check struct {
	Name     string `json:"name"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	Pass     bool   `json:"pass"`
}

// Timings says where the job's time went.
type Timings struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"`
	// EncodeFPS is output video frames per second of wall time.
	EncodeFPS float64 `json:"encode_fps"`
	Frames    int64   `json:"frames"`
}

// MediaInfo is a probe summary of a media file.
type MediaInfo struct {
	Format   string       `json:"format"`
	Duration float64      `json:"duration"` // seconds
	Size     int64        `json:"size"`
	BitRate  int64        `json:"bit_rate,omitempty"`
	Streams  []StreamInfo `json:"streams"`
}

// StreamInfo is a probe summary of one stream.
type StreamInfo struct {
	Index     int     `json:"index"`
	Type      string  `json:"type"` // video | audio | subtitle | data
	Codec     string  `json:"codec"`
	Profile   string  `json:"profile,omitempty"`
	BitRate   int64   `json:"bit_rate,omitempty"`
	StartTime float64 `json:"start_time"`
	Duration  float64 `json:"duration,omitempty"`
	Language  string  `json:"language,omitempty"`

	// Video.
	Width          int    `json:"width,omitempty"`
	Height         int    `json:"height,omitempty"`
	PixelFormat    string `json:"pixel_format,omitempty"`
	FrameRate      string `json:"frame_rate,omitempty"` // "25/1", "30000/1001"
	FieldOrder     string `json:"field_order,omitempty"`
	SAR            string `json:"sar,omitempty"`
	DAR            string `json:"dar,omitempty"`
	ColorPrimaries string `json:"color_primaries,omitempty"`
	ColorTransfer  string `json:"color_transfer,omitempty"`
	ColorSpace     string `json:"color_space,omitempty"`
	ColorRange     string `json:"color_range,omitempty"`
	Rotation       int    `json:"rotation,omitempty"`

	// Audio.
	SampleRate    int    `json:"sample_rate,omitempty"`
	Channels      int    `json:"channels,omitempty"`
	ChannelLayout string `json:"channel_layout,omitempty"`
	SampleFormat  string `json:"sample_format,omitempty"`
}

// VideoStreams and AudioStreams filter a probe by type.
func (m MediaInfo) VideoStreams() []StreamInfo { return m.streams("video") }

// AudioStreams returns the audio streams in file order.
func (m MediaInfo) AudioStreams() []StreamInfo { return m.streams("audio") }

func (m MediaInfo) streams(kind string) []StreamInfo {
	var out []StreamInfo
	for _, s := range m.Streams {
		if s.Type == kind {
			out = append(out, s)
		}
	}
	return out
}

// Loudness is one audio track's loudness normalisation.
type Loudness struct {
	Track          int     `json:"track"`       // 1-based output audio track
	Target         float64 `json:"target_lufs"` // the profile's target
	Before         float64 `json:"before_lufs"` // source, integrated (ITU-R BS.1770-4)
	TruePeakBefore float64 `json:"true_peak_before_dbtp"`
	GainDB         float64 `json:"gain_db"`
	Limited        bool    `json:"limited"`    // a limiter held true peaks under the ceiling
	After          float64 `json:"after_lufs"` // output, measured again
	TruePeakAfter  float64 `json:"true_peak_after_dbtp"`
}

package main

import "time"

// Results is everything one run measured; latest.json is this value.
type Results struct {
	Generated time.Time `json:"generated"`
	Host      Host      `json:"host"`
	Seconds   float64   `json:"seconds"` // the whole run
	Sections  []string  `json:"sections"`

	Kernels   []KernelResult   `json:"kernels,omitempty"`
	Pipelines []PipelineResult `json:"pipelines,omitempty"`
	FRC       []FRCResult      `json:"frame_rate_conversion,omitempty"`
	Store     *StoreResult     `json:"job_store,omitempty"`
	Memory    *MemoryResult    `json:"memory,omitempty"`
	Targets   []Target         `json:"targets"`
	Profiles  []Profile        `json:"profiles,omitempty"`
	Warnings  []string         `json:"warnings,omitempty"`
}

// Host is the machine the run measured.
type Host struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	FFmpeg    string `json:"ffmpeg"`
	Kiln      string `json:"kiln"`
	LoadStart string `json:"load_average_at_start"`
}

// KernelResult is one kernel against its libavfilter equivalent on the same
// raw frames. Mpix/s counts output luma samples per second of wall time.
type KernelResult struct {
	Kernel       string  `json:"kernel"`
	Size         string  `json:"size"` // SD | 1080: the output raster
	Input        string  `json:"input"`
	Output       string  `json:"output"`
	KilnMpixS    float64 `json:"kiln_mpix_s"`
	FFmpegMpixS  float64 `json:"ffmpeg_mpix_s"`
	Ratio        float64 `json:"ratio"`               // Kiln / ffmpeg
	KilnCPUUse   float64 `json:"kiln_cpu_per_wall"`   // CPU seconds per wall second: cores kept busy
	FFmpegCPUUse float64 `json:"ffmpeg_cpu_per_wall"` // same, for the filter's share
	KilnCall     string  `json:"kiln_call"`
	FFmpegFilter string  `json:"ffmpeg_filter"`
	FFmpegFrames int     `json:"ffmpeg_output_frames"`
	KilnFrames   int     `json:"kiln_output_frames"`
	Note         string  `json:"note,omitempty"`
}

// PipelineResult is one job, run by kilnd and by the equivalent ffmpeg
// command lines on the same source.
type PipelineResult struct {
	Name       string   `json:"name"`
	Profile    string   `json:"profile"`
	Source     string   `json:"source"`
	SourceDesc string   `json:"source_description"`
	Duration   float64  `json:"source_seconds"`
	Status     string   `json:"status"` // ok | failed
	Reason     string   `json:"reason,omitempty"`
	Plan       []string `json:"kiln_plan,omitempty"`

	Kiln   *ToolRun `json:"kiln,omitempty"`
	FFmpeg *ToolRun `json:"ffmpeg,omitempty"`
	// SpeedRatio is Kiln's fps over ffmpeg's: above 1, Kiln is faster.
	SpeedRatio float64 `json:"speed_ratio,omitempty"`
	// Reference is how the picture the quality figures compare against was made.
	Reference string `json:"reference,omitempty"`
	// Agreement scores Kiln's kernels, run in process on the first source
	// frames with the plan's stages and no coding, against the reference:
	// how closely the reference has Kiln's geometry.
	Agreement     *Quality `json:"reference_agreement,omitempty"`
	AgreementNote string   `json:"reference_agreement_note,omitempty"`
}

// ToolRun is one tool's best run of a job.
type ToolRun struct {
	Commands    []string  `json:"commands"`
	WallSeconds float64   `json:"wall_seconds"` // best of the repetitions
	AllWall     []float64 `json:"all_wall_seconds"`
	CPUSeconds  float64   `json:"cpu_seconds"` // of the best run, user + system
	PeakRSS     int64     `json:"peak_rss_bytes"`
	Frames      int       `json:"output_frames"`
	FPS         float64   `json:"fps"`
	Realtime    float64   `json:"realtime_factor"`
	Quality     *Quality  `json:"quality,omitempty"`
	Outputs     []string  `json:"outputs"`
	Note        string    `json:"note,omitempty"`
}

// Quality compares pictures with a reference: ffmpeg's psnr and ssim filters.
type Quality struct {
	PSNRY   float64 `json:"psnr_y_db"`
	PSNRAll float64 `json:"psnr_all_db"`
	SSIMY   float64 `json:"ssim_y"`
	SSIMAll float64 `json:"ssim_all"`
	Frames  int     `json:"frames"`
}

// FRCResult is one method rebuilding the dropped frames of a clip.
type FRCResult struct {
	Size      string    `json:"size"`
	Method    string    `json:"method"` // mc | blend | dup
	Tool      string    `json:"tool"`   // kiln | ffmpeg
	Call      string    `json:"call"`
	FPS       float64   `json:"fps"` // output (50p) frames per second of processing
	CPUUse    float64   `json:"cpu_per_wall"`
	Frames    int       `json:"output_frames"`
	Rebuilt   int       `json:"rebuilt_frames_scored"`
	Quality   *Quality  `json:"quality"`
	AllFPS    []float64 `json:"all_fps"`
	Timed     bool      `json:"timed"`
	Reference string    `json:"reference"`
}

// StoreResult is the job store's throughput and claim latency.
type StoreResult struct {
	Path      string          `json:"path"`
	FS        string          `json:"filesystem"`
	FsyncP50  float64         `json:"fsync_p50_ms"`
	FsyncP99  float64         `json:"fsync_p99_ms"`
	Postgres  string          `json:"postgres,omitempty"` // server version and durability settings
	Scenarios []StoreScenario `json:"scenarios"`
}

type StoreScenario struct {
	Name       string  `json:"name"`
	Backend    string  `json:"backend"` // SQLite | PostgreSQL
	Claimers   int     `json:"claimers"`
	Jobs       int     `json:"jobs"`
	JobsPerSec float64 `json:"jobs_per_second"`
	ClaimP50   float64 `json:"claim_p50_ms"`
	ClaimP99   float64 `json:"claim_p99_ms"`
	// EnqueueP50 is the median AddSource call: with one producer, jobs/s
	// can be no more than 1000 over it.
	EnqueueP50  float64 `json:"enqueue_p50_ms"`
	EmptyClaims int     `json:"empty_claims"`
	CPUPerWall  float64 `json:"cpu_per_wall"`
	// ServerCPUPerWall is the PostgreSQL server's CPU over wall time (the
	// bench process's own is CPUPerWall); 0 for SQLite, which runs in process.
	ServerCPUPerWall float64 `json:"server_cpu_per_wall"`
	// OpsPerCommit is how many write operations shared each SQLite
	// transaction (group commit), claims that found nothing included; 0 for
	// PostgreSQL.
	OpsPerCommit float64 `json:"writes_per_commit"`
	Seconds      float64 `json:"seconds"`
}

// MemoryResult is the daemon's idle footprint and each job type's peak.
type MemoryResult struct {
	IdleRSS      int64       `json:"daemon_idle_rss_bytes"`
	IdleHWM      int64       `json:"daemon_peak_rss_bytes"`
	IdleAnon     int64       `json:"daemon_idle_rss_anon_bytes"`
	IdleFile     int64       `json:"daemon_idle_rss_file_bytes"`
	Threads      int         `json:"daemon_threads"`
	Command      string      `json:"command"`
	Mappings     []Mapping   `json:"daemon_idle_rss_by_mapping"`
	SharedLibs   int         `json:"daemon_shared_libraries"`
	SharedLibRSS int64       `json:"daemon_shared_library_rss_bytes"`
	DaemonJob    *JobMemory  `json:"daemon_job,omitempty"`
	Jobs         []JobMemory `json:"jobs"`
	DaemonJobErr string      `json:"daemon_job_error,omitempty"`
}

// Mapping is resident memory of one thing a process maps.
type Mapping struct {
	Name string `json:"name"`
	RSS  int64  `json:"rss_bytes"`
}

type JobMemory struct {
	Job        string `json:"job"`
	Via        string `json:"via"` // how it was read
	KilnPeak   int64  `json:"kiln_peak_rss_bytes"`
	FFmpegPeak int64  `json:"ffmpeg_peak_rss_bytes,omitempty"`
}

// Target is one goal of the issue, judged on this run's figures.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
	Judged   bool   `json:"judged"` // false when the run lacks what it needs
	Limits   string `json:"limits,omitempty"`
}

// Profile is the top of a profile taken because a target was missed.
type Profile struct {
	Target  string `json:"target"`
	Tool    string `json:"tool"`
	Command string `json:"command"`
	Top     string `json:"top"`
}

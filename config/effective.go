package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Effective renders the config as it is in force: defaults applied, paths
// absolute, frame rates as fractions. Keys come in a fixed order and only the
// keys that apply to each profile's kind are written, so the text is stable
// enough to diff between reloads, and Parse accepts it and yields the same
// config again.
func (c *Config) Effective() []byte {
	var w tomlWriter
	w.line("# Kiln effective configuration: defaults applied, paths absolute.")
	if c.Origin != "" {
		w.line("# Source: " + strings.Map(printable, c.Origin))
	}

	d := c.Daemon
	w.line("")
	w.line("[daemon]")
	w.str("state_dir", d.StateDir)
	w.str("socket", d.Socket)
	w.int("cpu_jobs", d.CPUJobs)
	w.int("gpu_jobs", d.GPUJobs)
	w.int("nvenc_sessions", d.NVENCSessions)
	w.str("rescan", d.Rescan.String())
	w.int("max_attempts", d.MaxAttempts)
	w.str("log_level", d.LogLevel)
	w.str("stop_grace", d.StopGrace.String())
	w.str("socket_group", d.SocketGroup)
	if len(d.SubmitRoots) > 0 {
		w.strs("submit_roots", d.SubmitRoots)
	}
	w.int("worker_memory_mb", d.WorkerMemoryMB)
	w.int("job_timeout_factor", d.JobTimeoutFactor)
	w.str("worker_stall_timeout", d.WorkerStallTimeout.String())
	w.int("api_connections", d.APIConnections)
	w.int("api_connections_per_user", d.APIConnectionsPerUser)
	if d.Store != "" {
		w.str("store", d.StoreRedacted())
	}
	if d.StorePasswordFile != "" {
		w.str("store_password_file", d.StorePasswordFile)
	}
	if d.NodeName != "" {
		w.str("node_name", d.NodeName)
	}
	w.str("lease", d.Lease.String())
	w.str("output_mode", d.OutputMode)

	for _, wt := range c.Watches {
		w.line("")
		w.line("[[watch]]")
		w.str("name", wt.Name)
		w.str("inbox", wt.Inbox)
		w.str("output", wt.Output)
		w.strs("profiles", wt.Profiles)
		if wt.Priority != "" {
			w.str("priority", wt.Priority)
		}
		w.str("settle", wt.Settle.String())
		w.str("incomplete_timeout", wt.IncompleteTimeout.String())
		w.str("on_redrop", wt.OnRedrop)
	}

	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		p := c.Profiles[name]
		w.line("")
		w.line("[profile." + tomlKey(name) + "]")
		w.str("kind", p.Kind)
		w.optStr("standard", p.Standard)
		w.optStr("codec", p.Codec)
		w.optStr("aspect", p.Aspect)
		w.optStr("field_order", p.FieldOrder)
		w.optStr("container", p.Container)
		if p.Kind == kindABR {
			w.strs("formats", p.Formats)
			w.str("segment", p.Segment.String())
			w.str("package", p.Package)
		}
		if p.VideoBitrate != 0 {
			w.str("video_bitrate", p.VideoBitrate.String())
		}
		w.str("priority", p.Priority)
		w.str("fit", p.Fit)
		if p.Width != 0 {
			w.int("width", p.Width)
		}
		if p.Height != 0 {
			w.int("height", p.Height)
		}
		w.optStr("frame_rate", p.FrameRate)
		w.str("frame_rate_method", p.FrameRateMethod)
		w.str("deinterlace", p.Deinterlace)
		w.str("scale_filter", p.ScaleFilter)

		a := inline{}
		a.str("codec", p.Audio.Codec)
		if p.Audio.Bitrate != 0 {
			a.str("bitrate", p.Audio.Bitrate.String())
		}
		if p.Audio.Loudness != nil {
			a.raw("loudness", formatFloat(*p.Audio.Loudness))
		}
		w.kv("audio", a.String())
		if e := p.Encryption; e != nil {
			enc := (&inline{}).str("method", e.Method).str("key_uri", e.KeyURI)
			if e.Rotate > 0 {
				enc.raw("rotate", strconv.Itoa(e.Rotate))
			}
			w.kv("encryption", enc.String())
		}
		if m := p.Watermark; m != nil {
			w.kv("watermark", (&inline{}).str("image", m.Image).str("position", m.Position).
				raw("opacity", formatFloat(m.Opacity)).String())
		}
		if t := p.Thumbnails; t != nil {
			w.kv("thumbnails", (&inline{}).str("every", t.Every.String()).String())
		}
	}
	return []byte(w.b.String())
}

type tomlWriter struct{ b strings.Builder }

func (w *tomlWriter) line(s string)       { w.b.WriteString(s + "\n") }
func (w *tomlWriter) kv(k, v string)      { w.line(tomlKey(k) + " = " + v) }
func (w *tomlWriter) str(k, v string)     { w.kv(k, tomlString(v)) }
func (w *tomlWriter) int(k string, v int) { w.kv(k, strconv.Itoa(v)) }
func (w *tomlWriter) strs(k string, v []string) {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = tomlString(s)
	}
	w.kv(k, "["+strings.Join(q, ", ")+"]")
}

func (w *tomlWriter) optStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

// inline builds `{ a = "x", b = 1 }`.
type inline struct{ parts []string }

func (t *inline) raw(k, v string) *inline {
	t.parts = append(t.parts, tomlKey(k)+" = "+v)
	return t
}
func (t *inline) str(k, v string) *inline { return t.raw(k, tomlString(v)) }
func (t *inline) String() string {
	if len(t.parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(t.parts, ", ") + " }"
}

// tomlKey writes a key bare when TOML allows it, quoted otherwise, e.g. a
// profile named "pal.v2" must be written [profile."pal.v2"].
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return tomlString(k)
		}
	}
	return k
}

// tomlString quotes s as a TOML basic string. strconv.Quote is not used: Go's
// \a, \v and \x escapes are not TOML.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatFloat writes a TOML float: always with a point, so -23 stays a float.
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// printable keeps a comment on one line whatever the origin string holds.
func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return '?'
	}
	return r
}

package config

// rejectCases are configs Parse must refuse, each with every message it must
// give, file and line included. FuzzParse starts from these too.
var rejectCases = []struct {
	name string
	src  string
	want []string
}{
	// --- TOML itself
	{"syntax error", `
[daemon]
cpu_jobs = 2
socket = "/run/x.sock
`, []string{`t.toml:3: TOML syntax: strings cannot contain newlines`}},
	{"duplicate key", `
[daemon]
cpu_jobs = 2
cpu_jobs = 3
`, []string{`t.toml:3: TOML syntax: Key 'daemon.cpu_jobs' has already been defined.`}},

	// --- unknown keys
	{"unknown top level", `
version = 2
`, []string{`t.toml:1: unknown key "version" in the top level`}},
	{"unknown table", `
[deamon]
cpu_jobs = 2
`, []string{`t.toml:1: unknown key "deamon" in the top level (did you mean "daemon"?)`}},
	{"unknown in daemon", `
[daemon]
cpu_jobs = 2
cpujobs = 4
`, []string{`t.toml:3: unknown key "cpujobs" in [daemon] (did you mean "cpu_jobs"?)`}},
	{"unknown in profile", `
[profile.y]
kind = "file"
codec = "h264"
x = 1
`, []string{`t.toml:4: unknown key "x" in [profile.y]`}},
	{"unknown in inline table", `
[profile.y]
kind = "broadcast"
standard = "pal"
audio = { codec = "mp2", bogus = 1 }
`, []string{`t.toml:4: unknown key "bogus" in [profile.y.audio]`}},
	{"unknown in multi-line inline table", `
[profile.y]
kind = "broadcast"
standard = "pal"
audio = {
  codec = "mp2",
  bogus = 1,
}
`, []string{`t.toml:6: unknown key "bogus" in [profile.y.audio]`}},
	{"unknown in sub-table header", `
[profile.y]
kind = "broadcast"
standard = "pal"

[profile.y.audio]
codec = "mp2"
lufs = -23.0
`, []string{`t.toml:7: unknown key "lufs" in [profile.y.audio]`}},
	{"unknown dotted key", `
[profile.y]
kind = "broadcast"
standard = "pal"
audio.gain = 3
`, []string{`t.toml:4: unknown key "gain" in [profile.y.audio]`}},
	{"unknown in second watch", `
[[watch]]
name = "a"
inbox = "in/a"
output = "out/a"
profiles = ["p"]

[[watch]]
name = "b"
inbox = "in/b"
output = "out/b"
profiles = ["p"]
setle = "5s"

[profile.p]
kind = "file"
codec = "h264"
`, []string{`t.toml:12: unknown key "setle" in [[watch]] #2 (did you mean "settle"?)`}},
	{"key one table too high", `
[profile.y]
kind = "file"
codec = "h264"
loudness = -23.0
`, []string{`t.toml:4: unknown key "loudness" in [profile.y] (did you mean "audio.loudness"?)`}},

	// --- types
	{"wrong types", `
[daemon]
cpu_jobs = "4"
rescan = 10
log_level = 1

[profile.y]
kind = "abr"
formats = "hls"
width = 1280.0
audio = "aac"
video_bitrate = 2.4
`, []string{
		`t.toml:2: daemon: cpu_jobs must be an integer, got string "4"`,
		`t.toml:3: daemon: rescan: duration must be a string with a unit, got integer 10; write "10s" for seconds`,
		`t.toml:4: daemon: log_level must be a string, got integer 1`,
		`t.toml:8: profile "y": formats must be an array, got string "hls"`,
		`t.toml:9: profile "y": width must be an integer, got float 1280.0`,
		`t.toml:10: profile "y": audio must be a table such as audio = { ... }, got string "aac"`,
		`t.toml:11: profile "y": video_bitrate: bitrate 2.4 is a bare float; write it as a string such as "1.5M"`,
	}},
	{"not tables", `
daemon = 1
watch = "x"
profile = []
`, []string{
		`t.toml:1: daemon must be a table ([daemon]), got integer 1`,
		`t.toml:2: watch must be an array of tables ([[watch]]), got string "x"`,
		`t.toml:3: profile must be a table of profiles ([profile.NAME]), got an array`,
	}},
	{"profile not a table", `
[profile]
web = "abr"
`, []string{`t.toml:2: profile "web" must be a table ([profile.web]), got string "abr"`}},

	// --- [daemon]
	{"daemon ranges", `
[daemon]
cpu_jobs = 0
gpu_jobs = 17
max_attempts = 11
rescan = "500ms"
log_level = "verbose"
nvenc_sessions = 257
`, []string{
		`t.toml:2: daemon: cpu_jobs = 0 is out of range; want 1 to 64`,
		`t.toml:3: daemon: gpu_jobs = 17 is out of range; want 0 to 16`,
		`t.toml:4: daemon: max_attempts = 11 is out of range; want 1 to 10`,
		`t.toml:5: daemon: rescan = "500ms" is too short; want at least 1s`,
		`t.toml:6: daemon: log_level = "verbose" is not valid; want "debug", "info", "warn" or "error"`,
		`t.toml:7: daemon: nvenc_sessions = 257 is out of range; want 0 to 256`,
	}},
	{"daemon ranges low", `
[daemon]
cpu_jobs = 65
gpu_jobs = -1
max_attempts = 0
rescan = "-10s"
nvenc_sessions = -1
`, []string{
		`t.toml:2: daemon: cpu_jobs = 65 is out of range; want 1 to 64`,
		`t.toml:3: daemon: gpu_jobs = -1 is out of range; want 0 to 16`,
		`t.toml:4: daemon: max_attempts = 0 is out of range; want 1 to 10`,
		`t.toml:5: daemon: rescan: duration "-10s" is negative`,
		`t.toml:6: daemon: nvenc_sessions = -1 is out of range; want 0 to 256`,
	}},
	{"daemon fleet keys", `
[daemon]
store = "mysql://kiln:s3cret@db/kiln"
node_name = "encoder 1"
lease = "500ms"
`, []string{
		`t.toml:2: daemon: store is not a postgres:// or postgresql:// URL; leave it out for the embedded SQLite store in state_dir`,
		`t.toml:3: daemon: node_name = "encoder 1": use 1 to 63 letters, digits, '.', '_' or '-'; leave it out for the host name`,
		`t.toml:4: daemon: lease = "500ms" is too short; want at least 1s (heartbeats go every lease/3; a node silent this long is taken for dead)`,
	}},
	{"daemon store URL that does not parse", `
[daemon]
store = "postgres://kiln:s3cret@db:port/kiln"
lease = "11m"
`, []string{
		`t.toml:2: daemon: store is not a valid URL (invalid port ":port" after host); write it as postgres://user:password@host:5432/database`,
		`t.toml:3: daemon: lease = "11m0s" is too long; want at most 10m0s (heartbeats go every lease/3; a node silent this long is taken for dead)`,
	}},
	{"daemon stop_grace and socket_group", `
[daemon]
stop_grace = "2h"
socket_group = "kiln ops"
`, []string{
		`t.toml:2: daemon: stop_grace = "2h0m0s" is too long; want at most 1h0m0s (kilnd.service's TimeoutStopSec must be longer still)`,
		`t.toml:3: daemon: socket_group = "kiln ops" is not a group name or number; "" keeps kilnd's own group`,
	}},
	{"daemon stop_grace type and group shape", `
[daemon]
stop_grace = 30
socket_group = "-kiln"
`, []string{
		`t.toml:2: daemon: stop_grace: duration must be a string with a unit, got integer 30; write "30s" for seconds`,
		`t.toml:3: daemon: socket_group = "-kiln" is not a group name or number; "" keeps kilnd's own group`,
	}},
	{"socket_group too long or starting with a digit", `
[daemon]
socket_group = "1kiln"
`, []string{
		`t.toml:2: daemon: socket_group = "1kiln" is not a group name or number; "" keeps kilnd's own group`,
	}},
	{"daemon paths", `
[daemon]
state_dir = ""
socket = "~/kiln.sock"
`, []string{
		`t.toml:2: daemon: state_dir is empty`,
		`t.toml:3: daemon: socket = "~/kiln.sock": ~ is not expanded; write the full path`,
	}},
	{"socket too long", `
[daemon]
socket = "/run/kiln/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock"
`, []string{
		`t.toml:2: daemon: socket path "/run/kiln/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock" is 115 bytes; unix sockets allow at most 107`,
	}},

	// --- [[watch]]
	{"watch name rules", `
[[watch]]
inbox = "in/a"
output = "out/a"
profiles = ["p"]

[[watch]]
name = "PAL Playout"
inbox = "in/b"
output = "out/b"
profiles = ["p"]

[[watch]]
name = "c"
inbox = "in/c"
output = "out/c"
profiles = ["p"]

[[watch]]
name = "c"
inbox = "in/d"
output = "out/d"
profiles = ["p"]

[[watch]]
name = ".."
inbox = "in/e"
output = "out/e"
profiles = ["p"]

[profile.p]
kind = "file"
codec = "h264"
`, []string{
		`t.toml:1: [[watch]] #1: name is required`,
		`t.toml:7: watch "PAL Playout": name "PAL Playout" is not valid; use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit`,
		`t.toml:19: watch "c": name "c" is already used by [[watch]] #3`,
		`t.toml:25: watch "..": name ".." is not valid; use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit`,
	}},
	{"watch folders", `
[[watch]]
name = "a"
profiles = ["p"]

[[watch]]
name = "b"
inbox = "/srv/media/x"
output = "/srv/media/x/"
profiles = ["p"]

[[watch]]
name = "c"
inbox = "in/c"
output = "in/c/out"
profiles = ["p"]

[[watch]]
name = "d"
inbox = "/srv/out/d/in"
output = "/srv/out/d"
profiles = ["p"]

[[watch]]
name = "e"
inbox = "in/c"
output = "out/e"
profiles = ["p"]

[[watch]]
name = "f"
inbox = ""
output = "/"
profiles = ["p"]

[profile.p]
kind = "file"
codec = "h264"
`, []string{
		`t.toml:1: watch "a": inbox is required`,
		`t.toml:1: watch "a": output is required`,
		`t.toml:8: watch "b": output is the same folder as inbox (/srv/media/x)`,
		`t.toml:14: watch "c": output /srv/kiln/in/c/out is inside inbox /srv/kiln/in/c`,
		`t.toml:19: watch "d": inbox /srv/out/d/in is inside output /srv/out/d`,
		`t.toml:25: watch "e": inbox /srv/kiln/in/c is already watched by watch "c"`,
		`t.toml:31: watch "f": inbox is empty`,
		`t.toml:32: watch "f": output / holds the output of watch "d" (/srv/out/d): each watch needs an output folder of its own`,
		`t.toml:32: watch "f": output / holds the output of watch "e" (/srv/kiln/out/e): each watch needs an output folder of its own`,
	}},
	// Issue 21, item 3: folders watches share with each other or with
	// state_dir.
	{"watch folders shared with state_dir or another watch", `
[daemon]
state_dir = "/var/lib/kiln"

[[watch]]
name = "a"
inbox = "/var/lib/kiln"
output = "/srv/out/a"
profiles = ["p"]

[[watch]]
name = "b"
inbox = "/var/lib/kiln/in"
output = "/srv/out/a"
profiles = ["p"]

[[watch]]
name = "c"
inbox = "/var"
output = "/srv/out/a/c"
profiles = ["p"]

[[watch]]
name = "d"
inbox = "/srv/out/a/drop"
output = "/srv/out/d"
profiles = ["p"]

[profile.p]
kind = "file"
codec = "h264"
`, []string{
		`t.toml:6: watch "a": inbox /var/lib/kiln is state_dir /var/lib/kiln: Kiln would take its own job store and staging for media; keep the inbox apart`,
		`t.toml:12: watch "b": inbox /var/lib/kiln/in is inside state_dir /var/lib/kiln: Kiln would take its own job store and staging for media; keep the inbox apart`,
		`t.toml:13: watch "b": output /srv/out/a is the output of watch "a" (/srv/out/a): each watch needs an output folder of its own`,
		`t.toml:18: watch "c": inbox /var holds state_dir /var/lib/kiln: Kiln would take its own job store and staging for media; keep the inbox apart`,
		`t.toml:19: watch "c": output /srv/out/a/c is inside the output of watch "a" (/srv/out/a): each watch needs an output folder of its own`,
		`t.toml:24: watch "d": inbox /srv/out/a/drop is inside the output of watch "a" (/srv/out/a): deliveries would be taken in as sources`,
	}},
	{"output_mode and on_redrop", `
[daemon]
output_mode = "0777"

[[watch]]
name = "a"
inbox = "/srv/in/a"
output = "/srv/out/a"
profiles = ["p"]
on_redrop = "replace"

[profile.p]
kind = "file"
codec = "h264"
`, []string{
		`t.toml:2: daemon: output_mode = "0777" may not let group or others write: published outputs are read-only to everyone but kilnd`,
		`t.toml:9: watch "a": on_redrop = "replace" is not valid; want "version" or "fail"`,
	}},
	{"watch profiles", `
[[watch]]
name = "pal-playout"
inbox = "in/a"
output = "out/a"
profiles = ["a", "x", "b", "a"]

[[watch]]
name = "empty"
inbox = "in/b"
output = "out/b"
profiles = []

[[watch]]
name = "missing"
inbox = "in/c"
output = "out/c"

[profile.a]
kind = "file"
codec = "h264"

[profile.b]
kind = "file"
codec = "hevc"
`, []string{
		`t.toml:5: watch "pal-playout": profile "x" is not defined; defined profiles: a, b`,
		`t.toml:5: watch "pal-playout": profile "a" is listed twice; each file would run it twice into the same output folder`,
		`t.toml:11: watch "empty": profiles must list at least one profile; defined profiles: a, b`,
		`t.toml:13: watch "missing": profiles must list at least one profile; defined profiles: a, b`,
	}},
	{"watch profiles over lines", `
[[watch]]
name = "w"
inbox = "in"
output = "out"
profiles = [
  "a",
  "nope",
]
`, []string{
		`t.toml:6: watch "w": profile "a" is not defined; defined profiles: none`,
		`t.toml:7: watch "w": profile "nope" is not defined; defined profiles: none`,
	}},
	{"watch priority and settle", `
[[watch]]
name = "w"
inbox = "in"
output = "out"
profiles = ["p"]
priority = "urgent"
settle = "200ms"

[[watch]]
name = "v"
inbox = "in2"
output = "out2"
profiles = ["p"]
settle = 5

[profile.p]
kind = "file"
codec = "h264"
`, []string{
		`t.toml:6: watch "w": priority = "urgent" is not valid; want "high", "normal" or "low"`,
		`t.toml:7: watch "w": settle = "200ms" is too short; want at least 1s (file times have 1 s resolution on many filesystems and shares)`,
		`t.toml:14: watch "v": settle: duration must be a string with a unit, got integer 5; write "5s" for seconds`,
	}},

	// --- [profile.NAME], every kind
	{"profile name and kind", `
[profile.Web]
kind = "abr"

[profile.nokind]
codec = "h264"

[profile.dvd]
kind = "dvd"

[profile."a b"]
kind = "file"
codec = "h264"
`, []string{
		`t.toml:1: profile "Web": profile name "Web" is not valid; use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (quote it in the header if it has a dot: [profile."a.b"])`,
		`t.toml:4: profile "nokind": kind is required: "broadcast", "abr" or "file"`,
		`t.toml:8: profile "dvd": kind = "dvd" is not valid; want "broadcast", "abr" or "file"`,
		`t.toml:10: profile "a b": profile name "a b" is not valid; use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (quote it in the header if it has a dot: [profile."a.b"])`,
	}},
	{"keys of other kinds", `
[profile.web]
kind = "abr"
standard = "pal"
codec = "h264"
container = "mp4"
aspect = "16:9"

[profile.bc]
kind = "broadcast"
standard = "pal"
formats = ["hls"]
segment = "4s"
package = "tar"
encryption = { method = "aes-128", key_uri = "k" }

[profile.f]
kind = "file"
codec = "h264"
standard = "ntsc"
formats = ["dash"]
`, []string{
		`t.toml:3: profile "web": key "standard" applies only to kind = "broadcast"`,
		`t.toml:4: profile "web": key "codec" applies only to kind = "broadcast" or "file"`,
		`t.toml:5: profile "web": key "container" applies only to kind = "broadcast" or "file"`,
		`t.toml:6: profile "web": key "aspect" applies only to kind = "broadcast"`,
		`t.toml:11: profile "bc": key "formats" applies only to kind = "abr"`,
		`t.toml:12: profile "bc": key "segment" applies only to kind = "abr"`,
		`t.toml:13: profile "bc": key "package" applies only to kind = "abr"`,
		`t.toml:14: profile "bc": key "encryption" applies only to kind = "abr"`,
		`t.toml:19: profile "f": key "standard" applies only to kind = "broadcast"`,
		`t.toml:20: profile "f": key "formats" applies only to kind = "abr"`,
	}},
	{"common keys", `
[profile.f]
kind = "file"
codec = "h264"
priority = "urgent"
fit = "zoom"
width = 1919
height = 8
frame_rate = "fast"
frame_rate_method = "interpolate"
deinterlace = "yes"
scale_filter = "bilinear"
audio = { loudness = -80.0 }

[profile.g]
kind = "file"
codec = "h264"
width = 9000
height = 1081
frame_rate = "301"
audio = { loudness = -3 }
`, []string{
		`t.toml:4: profile "f": priority = "urgent" is not valid; want "high", "normal" or "low"`,
		`t.toml:5: profile "f": fit = "zoom" is not valid; want "letterbox", "pillarbox", "stretch" or "crop"`,
		`t.toml:6: profile "f": width = 1919 is odd; chroma subsampling needs an even size`,
		`t.toml:7: profile "f": height = 8 is out of range; want 16 to 8192`,
		`t.toml:8: profile "f": invalid frame rate "fast": want frames per second such as "25", "50", "29.97" or "30000/1001"`,
		`t.toml:9: profile "f": frame_rate_method = "interpolate" is not valid; want "mc", "blend" or "dup"`,
		`t.toml:10: profile "f": deinterlace = "yes" is not valid; want "auto", "on" or "off"`,
		`t.toml:11: profile "f": scale_filter = "bilinear" is not valid; want "lanczos" or "bicubic"`,
		`t.toml:12: profile "f": audio.loudness = -80.0 LUFS is out of range; want -70 to -5`,
		`t.toml:17: profile "g": width = 9000 is out of range; want 16 to 8192`,
		`t.toml:18: profile "g": height = 1081 is odd; chroma subsampling needs an even size`,
		`t.toml:19: profile "g": frame rate "301" is out of range; want 1 to 300 fps`,
		`t.toml:20: profile "g": audio.loudness = -3.0 LUFS is out of range; want -70 to -5`,
	}},
	{"watermark and thumbnails", `
[profile.f]
kind = "file"
codec = "h264"
watermark = { position = "middle", opacity = 0.0 }
thumbnails = { every = "500ms" }

[profile.g]
kind = "file"
codec = "h264"
thumbnails = { every = "10s" }

[profile.g.watermark]
image = "logo.jpg"
opacity = 1.5
`, []string{
		`t.toml:4: profile "f": watermark.image is required`,
		`t.toml:4: profile "f": watermark.position = "middle" is not valid; want "top-left", "top-right", "bottom-left", "bottom-right" or "center"`,
		`t.toml:4: profile "f": watermark.opacity = 0.0 is out of range; want more than 0, at most 1`,
		`t.toml:5: profile "f": thumbnails.every = "500ms" is too short; want at least 1s`,
		`t.toml:13: profile "g": watermark.image "/srv/kiln/logo.jpg" is not a .png; the overlay needs PNG's alpha channel`,
		`t.toml:14: profile "g": watermark.opacity = 1.5 is out of range; want more than 0, at most 1`,
	}},

	// --- kind = "broadcast"
	{"broadcast enums", `
[profile.b]
kind = "broadcast"
codec = "hevc"
aspect = "21:9"
container = "mp4"
audio = { codec = "opus" }
width = 720
height = 576
`, []string{
		`t.toml:1: profile "b": standard is required for kind = "broadcast": "pal", "ntsc" or "secam"`,
		`t.toml:3: profile "b": codec = "hevc" is not valid; want "mpeg2", "h264" or "d10"`,
		`t.toml:4: profile "b": aspect = "21:9" is not valid; want "4:3" or "16:9"`,
		`t.toml:5: profile "b": container = "mp4" is not valid; want "ts" or "mxf"`,
		`t.toml:6: profile "b": audio.codec = "opus" is not valid; want "mp2", "ac3", "aac" or "pcm"`,
		`t.toml:7: profile "b": width is not allowed for kind = "broadcast": the standard fixes the raster (use kind = "file" for a custom size)`,
		`t.toml:8: profile "b": height is not allowed for kind = "broadcast": the standard fixes the raster (use kind = "file" for a custom size)`,
	}},
	{"broadcast standard", `
[profile.b]
kind = "broadcast"
standard = "hd"
`, []string{`t.toml:3: profile "b": standard = "hd" is not valid; want "pal", "ntsc" or "secam"`}},
	{"d10 rules", `
[profile.d]
kind = "broadcast"
standard = "pal"
codec = "d10"
container = "ts"
video_bitrate = "45M"
audio = { codec = "mp2" }
`, []string{
		`t.toml:5: profile "d": codec "d10" requires container = "mxf" (D-10 is defined as MXF-wrapped essence, SMPTE 386M)`,
		`t.toml:6: profile "d": codec "d10" runs at exactly 30M, 40M or 50M, not 45M`,
		`t.toml:7: profile "d": codec "d10" requires audio codec "pcm" (D-10 carries AES3 PCM audio)`,
	}},
	{"broadcast mxf", `
[profile.h]
kind = "broadcast"
standard = "pal"
codec = "h264"
container = "mxf"

[profile.m]
kind = "broadcast"
standard = "pal"
container = "mxf"
audio = { codec = "ac3" }
`, []string{
		`t.toml:5: profile "h": container "mxf" cannot carry codec "h264"; use container = "ts"`,
		`t.toml:11: profile "m": container "mxf" carries audio as "pcm" only`,
	}},
	{"broadcast bitrates and rate", `
[profile.b]
kind = "broadcast"
standard = "pal"
video_bitrate = 8000
audio = { codec = "mp2", bitrate = "448k" }
frame_rate = "29.97"

[profile.n]
kind = "broadcast"
standard = "ntsc"
audio = { codec = "pcm", bitrate = "256k" }
frame_rate = "25"
`, []string{
		`t.toml:4: profile "b": video_bitrate 8k (8000 bit/s) is below 100k; bitrates count bits per second, so 8 Mbit/s is "8M"`,
		`t.toml:5: profile "b": audio.bitrate 448k is out of range for mp2; want 32k to 384k (bitrates count bits per second)`,
		`t.toml:6: profile "b": frame_rate "30000/1001" does not match standard "pal", which runs at 25/1; remove frame_rate, the standard fixes it`,
		`t.toml:11: profile "n": audio.bitrate does not apply to pcm, which is uncompressed; remove it`,
		`t.toml:12: profile "n": frame_rate "25/1" does not match standard "ntsc", which runs at 30000/1001; remove frame_rate, the standard fixes it`,
	}},
	{"bad bitrate strings", `
[profile.b]
kind = "broadcast"
standard = "pal"
video_bitrate = "8X"
audio = { bitrate = "0" }
`, []string{
		`t.toml:4: profile "b": video_bitrate: invalid bitrate "8X": want bits per second as an integer, or a number with a k, M or G suffix such as "256k", "8M" or "1.5M"`,
		`t.toml:5: profile "b": audio.bitrate: bitrate "0" is zero; it must be greater than 0`,
	}},

	// --- kind = "abr"
	{"abr rules", `
[profile.web]
kind = "abr"
formats = ["hls", "rtmp", "hls"]
segment = "31s"
package = "zip"
audio = { codec = "pcm" }
encryption = { method = "aes-256", key_uri = "https://keys.example.com/{job} key" }

[profile.web2]
kind = "abr"
formats = []
segment = "500ms"
encryption = { method = "aes-128" }
`, []string{
		`t.toml:3: profile "web": format "rtmp" is not valid; want "hls", "dash" or "smooth"`,
		`t.toml:3: profile "web": format "hls" is listed twice`,
		`t.toml:4: profile "web": segment = "31s" is too long; want at most 30s`,
		`t.toml:5: profile "web": package = "zip" is not valid; want "dir" or "tar"`,
		`t.toml:6: profile "web": audio.codec = "pcm" is not valid; want "aac" or "ac3"`,
		`t.toml:7: profile "web": encryption.method = "aes-256" is not valid; want "aes-128"`,
		`t.toml:7: profile "web": encryption.key_uri "https://keys.example.com/{job} key" contains whitespace; percent-encode it (%20)`,
		`t.toml:11: profile "web2": formats is empty; want one or more of "hls", "dash", "smooth"`,
		`t.toml:12: profile "web2": segment = "500ms" is too short; want at least 1s`,
		`t.toml:13: profile "web2": encryption.key_uri is required`,
	}},
	{"abr key rotation", `
[profile.web]
kind = "abr"
encryption = { method = "aes-128", key_uri = "https://keys.example.com/{job}.key", rotate = 10 }

[profile.web2]
kind = "abr"
encryption = { method = "aes-128", key_uri = "https://keys.example.com/\"{key}", rotate = -1 }
`, []string{
		`t.toml:3: profile "web": encryption.rotate = 10 needs {key} in key_uri, so that each key gets its own URI`,
		`t.toml:7: profile "web2": encryption.key_uri "https://keys.example.com/\"{key}" contains a quote or backslash; percent-encode it`,
		`t.toml:7: profile "web2": encryption.rotate = -1 is out of range; want segments per key, 0 (one key) to 100000`,
	}},

	// --- kind = "file"
	{"file codec required", `
[profile.f]
kind = "file"
container = "avi"
`, []string{
		`t.toml:1: profile "f": codec is required for kind = "file": "h264", "hevc", "mpeg2", "prores" or "ffv1"`,
		`t.toml:3: profile "f": container = "avi" is not valid; want "mov", "mp4", "mkv", "ts" or "mxf"`,
	}},
	{"file impossible pairs", `
[profile.a]
kind = "file"
codec = "prores"
container = "mp4"
video_bitrate = "100M"

[profile.b]
kind = "file"
codec = "ffv1"
container = "mxf"

[profile.c]
kind = "file"
codec = "h264"
container = "mxf"

[profile.d]
kind = "file"
codec = "hevc"
container = "mxf"

[profile.e]
kind = "file"
codec = "vp9"
`, []string{
		`t.toml:4: profile "a": container "mp4" cannot carry codec "prores"; use "mov", "mkv" or "mxf"`,
		`t.toml:5: profile "a": video_bitrate does not apply to codec "prores", which is quality-based; remove it`,
		`t.toml:10: profile "b": container "mxf" cannot carry codec "ffv1"; use "mkv" or "mov"`,
		`t.toml:15: profile "c": container "mxf" cannot carry codec "h264"; use "mp4", "mov", "mkv" or "ts"`,
		`t.toml:20: profile "d": container "mxf" cannot carry codec "hevc"; use "mp4", "mov", "mkv" or "ts"`,
		`t.toml:24: profile "e": codec = "vp9" is not valid; want "h264", "hevc", "mpeg2", "prores" or "ffv1"`,
	}},
	{"file audio", `
[profile.a]
kind = "file"
codec = "h264"
audio = { codec = "pcm" }

[profile.b]
kind = "file"
codec = "mpeg2"
container = "mxf"
audio = { codec = "aac" }

[profile.c]
kind = "file"
codec = "ffv1"
video_bitrate = "50M"
audio = { codec = "pcm", bitrate = "1536k" }

[profile.d]
kind = "file"
codec = "h264"
audio.bitrate = 128
`, []string{
		`t.toml:4: profile "a": container "mp4" cannot carry pcm audio; use "aac" or "ac3", or container = "mov"`,
		`t.toml:10: profile "b": container "mxf" carries audio as "pcm" only`,
		`t.toml:15: profile "c": video_bitrate does not apply to codec "ffv1", which is quality-based; remove it`,
		`t.toml:16: profile "c": audio.bitrate does not apply to pcm, which is uncompressed; remove it`,
		`t.toml:21: profile "d": audio.bitrate 128 is out of range for aac; want 16k to 1536k (bitrates count bits per second)`,
	}},
}

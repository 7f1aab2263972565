package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kiln/dsn"
)

// checker applies defaults and validates a decoded Config. It knows which keys
// were written (set) so that an explicit zero is judged rather than silently
// replaced, and which failed to decode (bad) so that one mistake is reported
// once, not again as "missing" or "out of range".
type checker struct {
	*reporter
	set  map[string]bool
	bad  map[string]bool
	base string // absolute folder that relative paths start from
}

func (c *checker) config(cfg *Config) {
	c.daemon(&cfg.Daemon)
	names := slices.Sorted(maps.Keys(cfg.Profiles))
	for _, name := range names {
		c.profile(cfg.Profiles[name], keyPath{"profile", name})
	}
	c.watches(cfg.Watches, names)
	stateDir := cfg.Daemon.StateDir
	if c.bad[keyPath{"daemon", "state_dir"}.id()] {
		stateDir = ""
	}
	c.watchOverlaps(cfg.Watches, stateDir)
}

// tableCheck carries what messages about one table need: its label
// (`profile "web"`) and path.
type tableCheck struct {
	*checker
	label string
	path  keyPath
}

func (c *checker) table(label string, path keyPath) tableCheck {
	return tableCheck{c, label, path}
}

// key turns "audio.codec" into the key's path.
func (t tableCheck) key(name string) keyPath {
	return t.path.with(strings.Split(name, ".")...)
}

func (t tableCheck) has(name string) bool { return t.set[t.key(name).id()] }

// usable: written and decoded fine, so its value can be judged.
func (t tableCheck) usable(name string) bool {
	id := t.key(name).id()
	return t.set[id] && !t.bad[id]
}

// errorf reports a problem with key name (its line; the table's if unwritten)
// and marks it so later checks leave it alone.
func (t tableCheck) errorf(name string, format string, args ...any) {
	p := t.path
	if name != "" {
		p = t.key(name)
		t.bad[p.id()] = true
	}
	t.at(p, t.label+": "+fmt.Sprintf(format, args...))
}

// enum defaults an unwritten key to def and checks a written one against
// allowed. It reports whether *v now holds an allowed value.
func (t tableCheck) enum(name string, v *string, def string, allowed ...string) bool {
	if !t.has(name) {
		*v = def
		return def != ""
	}
	if !t.usable(name) {
		return false
	}
	if slices.Contains(allowed, *v) {
		return true
	}
	t.errorf(name, "%s = %q is not valid; want %s", name, *v, orList(allowed))
	return false
}

// required is enum for a key without a default.
func (t tableCheck) required(name string, v *string, what string, allowed ...string) bool {
	if !t.has(name) {
		t.errorf(name, "%s is required%s: %s", name, what, orList(allowed))
		return false
	}
	return t.enum(name, v, "", allowed...)
}

func (t tableCheck) intRange(name string, v *int, def, lo, hi int) {
	if !t.has(name) {
		*v = def
		return
	}
	if t.usable(name) && (*v < lo || *v > hi) {
		t.errorf(name, "%s = %d is out of range; want %d to %d", name, *v, lo, hi)
	}
}

func (t tableCheck) duration(name string, v *Duration, def, lo, hi time.Duration, why string) {
	if !t.has(name) {
		v.Duration = def
		return
	}
	if !t.usable(name) {
		return
	}
	switch {
	case v.Duration < lo:
		t.errorf(name, "%s = %q is too short; want at least %s%s", name, v.Duration, lo, why)
	case hi > 0 && v.Duration > hi:
		t.errorf(name, "%s = %q is too long; want at most %s%s", name, v.Duration, hi, why)
	}
}

// path defaults, checks and resolves a filesystem path.
func (t tableCheck) filePath(name string, v *string, def string) {
	if !t.has(name) {
		if def == "" {
			t.errorf(name, "%s is required", name) // on the line of the table that lacks it
			return
		}
		*v = def
	} else if !t.usable(name) {
		return
	}
	switch {
	case *v == "":
		t.errorf(name, "%s is empty", name)
		return
	case strings.HasPrefix(*v, "~"):
		// Nothing between TOML and the kernel expands ~; without this check it
		// would quietly become a folder named "~" next to the config.
		t.errorf(name, "%s = %q: ~ is not expanded; write the full path", name, *v)
		return
	case strings.ContainsRune(*v, 0):
		t.errorf(name, "%s contains a NUL byte", name)
		return
	}
	if !filepath.IsAbs(*v) {
		*v = filepath.Join(t.base, *v)
	}
	*v = filepath.Clean(*v)
}

func (c *checker) daemon(d *Daemon) {
	t := c.table("daemon", keyPath{"daemon"})
	t.filePath("state_dir", &d.StateDir, "/var/lib/kiln")
	t.filePath("socket", &d.Socket, "/run/kiln/kiln.sock")
	// sun_path holds 108 bytes with the NUL; a longer path fails only at
	// listen time, with an error that does not name the config.
	if len(d.Socket) > 107 && !t.bad[t.key("socket").id()] {
		t.errorf("socket", "socket path %q is %d bytes; unix sockets allow at most 107", d.Socket, len(d.Socket))
	}
	t.intRange("cpu_jobs", &d.CPUJobs, 2, 1, 64)
	t.intRange("gpu_jobs", &d.GPUJobs, 2, 0, 16)
	t.intRange("nvenc_sessions", &d.NVENCSessions, 0, 0, 256)
	t.duration("rescan", &d.Rescan, 10*time.Second, time.Second, 0, "")
	t.intRange("max_attempts", &d.MaxAttempts, 2, 1, 10)
	t.enum("log_level", &d.LogLevel, "info", "debug", "info", "warn", "error")
	t.duration("stop_grace", &d.StopGrace, 30*time.Second, 0, time.Hour,
		" (kilnd.service's TimeoutStopSec must be longer still)")
	if t.usable("submit_roots") {
		for i, r := range d.SubmitRoots {
			switch {
			case r == "" || strings.ContainsRune(r, 0) || strings.HasPrefix(r, "~"):
				t.errorf("submit_roots", "submit_roots entry %d (%q) is not a usable folder path; write the full path", i+1, r)
				continue
			case !filepath.IsAbs(r):
				r = filepath.Join(t.base, r)
			}
			d.SubmitRoots[i] = filepath.Clean(r)
			if d.SubmitRoots[i] == "/" {
				t.errorf("submit_roots", "submit_roots may not include / itself: name the media folders")
			}
		}
	}
	t.intRange("worker_memory_mb", &d.WorkerMemoryMB, 8192, 512, 1<<20)
	t.intRange("job_timeout_factor", &d.JobTimeoutFactor, 20, 1, 1000)
	t.duration("worker_stall_timeout", &d.WorkerStallTimeout, 5*time.Minute, time.Second, 24*time.Hour,
		" (a worker that sends no progress this long is killed and its job retried)")
	t.intRange("api_connections", &d.APIConnections, 256, 4, 16384)
	t.intRange("api_connections_per_user", &d.APIConnectionsPerUser, 64, 1, 16384)
	if d.APIConnectionsPerUser > d.APIConnections && t.usable("api_connections_per_user") {
		t.errorf("api_connections_per_user", "api_connections_per_user = %d is more than api_connections = %d",
			d.APIConnectionsPerUser, d.APIConnections)
	}
	t.fleet(d)
	if !t.has("socket_group") {
		d.SocketGroup = "kiln"
	} else if t.usable("socket_group") && d.SocketGroup != "" && !validGroup(d.SocketGroup) {
		t.errorf("socket_group", "socket_group = %q is not a group name or number; \"\" keeps kilnd's own group", d.SocketGroup)
	}
	if !t.has("output_mode") {
		d.OutputMode = fmt.Sprintf("%04o", uint32(defaultOutputMode.Perm())|modeBits(defaultOutputMode))
	} else if t.usable("output_mode") {
		if _, err := parseOutputMode(d.OutputMode); err != nil {
			t.errorf("output_mode", "output_mode = %q %v", d.OutputMode, err)
		}
	}
}

// fleet checks the keys that let several appliances share one job store.
func (t tableCheck) fleet(d *Daemon) {
	if t.usable("store") && d.Store != "" {
		if !dsn.IsPostgres(d.Store) {
			// The value is not repeated: it may hold a password.
			t.errorf("store", "store is not a postgres:// or postgresql:// URL; leave it out for the embedded SQLite store in state_dir")
		} else if _, err := url.Parse(d.Store); err != nil {
			t.errorf("store", "store is not a valid URL (%s); write it as postgres://user:password@host:5432/database", urlProblem(err))
		}
	}
	if t.has("store_password_file") && t.usable("store_password_file") {
		switch {
		case d.Store == "":
			t.errorf("store_password_file", "store_password_file is set, but store is not: the password is for a fleet's PostgreSQL store")
		case dsn.HasPassword(d.Store):
			t.errorf("store_password_file", "store already holds a password; keep it in one place: take it out of store, or drop store_password_file")
		case strings.HasPrefix(d.StorePasswordFile, CredentialsPrefix):
			if name := strings.TrimPrefix(d.StorePasswordFile, CredentialsPrefix); name == "" || strings.Contains(name, "/") {
				t.errorf("store_password_file", "store_password_file = %q: name one credential, as in %sstore-password", d.StorePasswordFile, CredentialsPrefix)
			}
		default:
			t.filePath("store_password_file", &d.StorePasswordFile, "")
		}
	}
	if t.usable("node_name") && !validNodeName(d.NodeName) {
		t.errorf("node_name", "node_name = %q: use 1 to 63 letters, digits, '.', '_' or '-'; leave it out for the host name", d.NodeName)
	}
	t.duration("lease", &d.Lease, 30*time.Second, time.Second, 10*time.Minute,
		" (heartbeats go every lease/3; a node silent this long is taken for dead)")
}

// urlProblem is url.Parse's complaint without the URL, which it quotes whole.
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "unparsable"
}

func validNodeName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// validGroup accepts what useradd and systemd-sysusers accept as a group
// name, [A-Za-z_][A-Za-z0-9_.-]* of at most 32 bytes, or a numeric GID.
func validGroup(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			digits = false
		case (c == '.' || c == '-') && i > 0:
			digits = false
		default:
			return false
		}
	}
	return digits || !(s[0] >= '0' && s[0] <= '9')
}

func (c *checker) watches(ws []Watch, profiles []string) {
	byName := map[string]int{}
	byInbox := map[string]int{}
	for i := range ws {
		w := &ws[i]
		label := fmt.Sprintf("[[watch]] #%d", i+1)
		if w.Name != "" {
			label = fmt.Sprintf("watch %q", w.Name)
		}
		t := c.table(label, keyPath{"watch"}.index(i))

		switch {
		case !t.has("name"):
			t.errorf("", "name is required")
		case !t.usable("name"):
		case !validName(w.Name):
			t.errorf("name", "name %q is not valid; %s", w.Name, nameRule)
		default:
			if j, dup := byName[w.Name]; dup {
				t.errorf("name", "name %q is already used by [[watch]] #%d", w.Name, j+1)
			} else {
				byName[w.Name] = i
			}
		}

		t.filePath("inbox", &w.Inbox, "")
		t.filePath("output", &w.Output, "")
		inboxOK, outputOK := t.usable("inbox"), t.usable("output")
		if inboxOK && outputOK {
			// Outputs inside the inbox would be picked up as sources, and an
			// inbox inside the output would be mixed with deliverables.
			switch {
			case w.Inbox == w.Output:
				t.errorf("output", "output is the same folder as inbox (%s)", w.Inbox)
			case within(w.Output, w.Inbox):
				t.errorf("output", "output %s is inside inbox %s", w.Output, w.Inbox)
			case within(w.Inbox, w.Output):
				t.errorf("inbox", "inbox %s is inside output %s", w.Inbox, w.Output)
			}
		}
		if inboxOK {
			if j, dup := byInbox[w.Inbox]; dup {
				t.errorf("inbox", "inbox %s is already watched by %s", w.Inbox, watchLabel(ws, j))
			} else {
				byInbox[w.Inbox] = i
			}
		}

		switch {
		case !t.has("profiles") || t.usable("profiles") && len(w.Profiles) == 0:
			t.errorf("profiles", "profiles must list at least one profile; defined profiles: %s", profileList(profiles))
		case t.usable("profiles"):
			seen := map[string]bool{}
			for j, name := range w.Profiles {
				elem := fmt.Sprintf("profiles.#%d", j)
				switch {
				case seen[name]:
					t.errorf(elem, "profile %q is listed twice; each file would run it twice into the same output folder", name)
				case !slices.Contains(profiles, name):
					t.errorf(elem, "profile %q is not defined; defined profiles: %s", name, profileList(profiles))
				}
				seen[name] = true
			}
		}

		// "" is allowed and means: keep each profile's priority.
		if !t.usable("priority") || w.Priority != "" {
			t.enum("priority", &w.Priority, "", "high", "normal", "low")
		}
		t.duration("settle", &w.Settle, 5*time.Second, time.Second, 0,
			" (file times have 1 s resolution on many filesystems and shares)")
		t.duration("incomplete_timeout", &w.IncompleteTimeout, 30*time.Minute, time.Second, 0, "")
		t.enum("on_redrop", &w.OnRedrop, "version", "version", "fail")
	}
}

// watchOverlaps refuses folders that watches share with each other or with
// state_dir, as written in the config (CheckFolders repeats this on the
// folders as the file system resolves them, links followed):
//   - an inbox that is, holds or lies in state_dir: Kiln would take its own
//     job store and staging for media, and file them to failed/;
//   - an output shared by two watches (or one inside another): their
//     deliveries would be named alike and mixed;
//   - an inbox that is, holds or lies in another watch's output.
func (c *checker) watchOverlaps(ws []Watch, stateDir string) {
	usable := func(i int, key string) bool {
		return c.set[keyPath{"watch"}.index(i).with(key).id()] && !c.bad[keyPath{"watch"}.index(i).with(key).id()] && (key != "inbox" || ws[i].Inbox != "") && (key != "output" || ws[i].Output != "")
	}
	dupInbox := map[int]bool{}
	for i := range ws {
		for j := range i {
			if usable(i, "inbox") && usable(j, "inbox") && ws[i].Inbox == ws[j].Inbox {
				dupInbox[i] = true // reported by watches
			}
		}
	}
	for i, w := range ws {
		t := c.table(watchLabel(ws, i), keyPath{"watch"}.index(i))
		if usable(i, "inbox") && stateDir != "" {
			if how := overlap(w.Inbox, stateDir); how != "" {
				t.errorf("inbox", "inbox %s %s state_dir %s: Kiln would take its own job store and staging for media; keep the inbox apart", w.Inbox, how, stateDir)
			}
		}
		if !usable(i, "output") {
			continue
		}
		for j := range i {
			if usable(j, "output") {
				if how := overlap(w.Output, ws[j].Output); how != "" {
					t.errorf("output", "output %s %s the output of %s (%s): each watch needs an output folder of its own", w.Output, how, watchLabel(ws, j), ws[j].Output)
				}
			}
		}
	}
	for i, w := range ws {
		if !usable(i, "inbox") || dupInbox[i] {
			continue
		}
		t := c.table(watchLabel(ws, i), keyPath{"watch"}.index(i))
		for j := range ws {
			if j != i && usable(j, "output") {
				if how := overlap(w.Inbox, ws[j].Output); how != "" {
					t.errorf("inbox", "inbox %s %s the output of %s (%s): deliveries would be taken in as sources", w.Inbox, how, watchLabel(ws, j), ws[j].Output)
				}
			}
		}
	}
}

// overlap says how folder a stands to folder b: "is", "is inside", "holds",
// or "" when they are apart. Both are clean and absolute.
func overlap(a, b string) string {
	switch {
	case a == b:
		return "is"
	case within(a, b):
		return "is inside"
	case within(b, a):
		return "holds"
	}
	return ""
}

func watchLabel(ws []Watch, i int) string {
	if ws[i].Name != "" {
		return fmt.Sprintf("watch %q", ws[i].Name)
	}
	return fmt.Sprintf("[[watch]] #%d", i+1)
}

func profileList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// within reports whether path lies strictly inside dir; both are clean and
// absolute.
func within(path, dir string) bool {
	if dir == "/" {
		return path != "/"
	}
	return strings.HasPrefix(path, dir+"/")
}

const nameRule = "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit"

// validName is [a-z0-9][a-z0-9._-]*. Names become folder names under an
// output folder, so a leading '.' or '-' (".." or a flag-like "-x") is
// refused as well.
func validName(s string) bool {
	if s == "" || s[0] == '.' || s[0] == '-' || s[0] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// orList writes `"a", "b" or "c"`.
func orList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// inRange is false for NaN, which TOML can spell as nan.
func inRange(v, lo, hi float64) bool {
	return !math.IsNaN(v) && v >= lo && v <= hi
}

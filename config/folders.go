package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// CheckFolders judges the config's folders as the file system has them,
// which Parse, reading only the config text, cannot: symbolic links are
// followed, so that two watches sharing an inbox through a link, an output
// reached two ways, or an inbox that is state_dir under another name are
// refused as their plain spellings are; and state_dir must be a folder that
// exists or can be created (no file in its path, no read-only file system).
// It only looks: nothing is created.
//
// kilnd runs it for --check and before it starts; a config may be checked
// with Parse alone on a machine that does not have its folders.
func CheckFolders(cfg *Config) error {
	// The config text again, only to put findings on their lines.
	text := defaultTOML
	if cfg.Origin != DefaultOrigin {
		text, _ = os.ReadFile(cfg.Origin)
	}
	rep := &reporter{origin: cfg.Origin, lines: indexLines(text)}
	set := map[string]bool{}
	c := &checker{reporter: rep, set: set, bad: map[string]bool{}}

	// The same checks as Parse's, on resolved paths. Parse has passed, so
	// whatever they find is there only once links are followed.
	ws := make([]Watch, len(cfg.Watches))
	for i, w := range cfg.Watches {
		ws[i] = w
		ws[i].Inbox, ws[i].Output = resolve(w.Inbox), resolve(w.Output)
		// Parse required both keys: they were written.
		for _, k := range []string{"inbox", "output"} {
			set[keyPath{"watch"}.index(i).with(k).id()] = true
		}
	}
	c.watchOverlaps(ws, resolve(cfg.Daemon.StateDir))
	for i, w := range ws {
		t := c.table(watchLabel(ws, i), keyPath{"watch"}.index(i))
		if how := overlap(w.Output, w.Inbox); how != "" && !c.bad[t.key("inbox").id()] {
			t.errorf("output", "output %s %s inbox %s", w.Output, how, w.Inbox)
		}
		for j := range i {
			if w.Inbox == ws[j].Inbox && !c.bad[t.key("inbox").id()] {
				t.errorf("inbox", "inbox %s is the inbox of %s: both watches would take each file", w.Inbox, watchLabel(ws, j))
			}
		}
	}
	for i := range rep.errs {
		rep.errs[i].Msg += " (symbolic links followed)"
	}
	daemon := c.table("daemon", keyPath{"daemon"})
	if why := cannotCreate(cfg.Daemon.StateDir); why != "" {
		daemon.errorf("state_dir", "state_dir %s cannot be created: %s", cfg.Daemon.StateDir, why)
	}
	if len(rep.errs) == 0 {
		return nil
	}
	sort.SliceStable(rep.errs, func(i, j int) bool { return rep.errs[i].Line < rep.errs[j].Line })
	return &Errors{List: rep.errs}
}

// resolve follows the symbolic links of the part of path that exists; the
// rest, which kilnd will create, is joined on as written.
func resolve(path string) string {
	existing, rest := path, ""
	for {
		if r, err := filepath.EvalSymlinks(existing); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return path
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
}

// cannotCreate says why the folder at path neither exists nor can be made,
// or "": a part of the path is a file, or the file system is read-only.
// Permissions are not judged: --check often runs as another user than
// kilnd's (whose unit may have systemd create state_dir), and kilnd says
// which folder it could not create when it starts.
func cannotCreate(path string) string {
	p := path
	for {
		st, err := os.Stat(p)
		if err == nil {
			if !st.IsDir() {
				if p == path {
					return "it is a file, not a folder"
				}
				return fmt.Sprintf("%s is a file, not a folder", p)
			}
			if err := unix.Access(p, unix.W_OK); errors.Is(err, unix.EROFS) {
				return fmt.Sprintf("%s is on a read-only file system", p)
			}
			return ""
		}
		// ENOTDIR: a part above is a file, which the walk up names.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) {
			return strings.TrimPrefix(err.Error(), "stat ")
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "no part of the path exists"
		}
		p = parent
	}
}

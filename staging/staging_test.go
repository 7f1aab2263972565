package staging

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPublishMovesWholeFolder(t *testing.T) {
	root := t.TempDir()
	d, err := New(root, "clip", "pal", 7)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(d.Path) != filepath.Join(root, FolderName) {
		t.Fatalf("staging outside the output root: %s", d.Path)
	}
	os.WriteFile(d.File("clip.ts"), []byte("new"), 0o644)
	if _, err := os.Stat(d.Final); err == nil {
		t.Fatal("final folder visible before publish")
	}
	if err := d.Publish(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "clip", "pal", "clip.ts"))
	if err != nil || string(b) != "new" {
		t.Fatalf("published file: %q %v", b, err)
	}
	if _, err := os.Stat(d.Path); !os.IsNotExist(err) {
		t.Errorf("staging folder still there: %v", err)
	}
}

// A second job publishing to a folder that holds another job's delivery
// must fail and leave the delivery as it was: nothing published is replaced
// silently (issue 21, item 1).
func TestPublishRefusesToReplaceAnotherJobsDelivery(t *testing.T) {
	root := t.TempDir()
	old, _ := New(root, "clip", "pal", 1)
	os.WriteFile(old.File("clip.ts"), []byte("old"), 0o644)
	os.WriteFile(old.File("clip.kiln.json"), []byte(`{"job_id": 1}`), 0o644)
	if err := old.Publish(); err != nil {
		t.Fatal(err)
	}
	for _, other := range []struct {
		name   string
		report string
	}{{"another job", `{"job_id": 2}`}, {"no report", ""}} {
		t.Run(other.name, func(t *testing.T) {
			next, _ := New(root, "clip", "pal", 2)
			os.WriteFile(next.File("clip.ts"), []byte("new"), 0o644)
			if other.report != "" {
				os.WriteFile(next.File("clip.kiln.json"), []byte(other.report), 0o644)
			}
			err := next.Publish()
			if !errors.Is(err, ErrPublished) {
				t.Fatalf("Publish over job 1's delivery: %v, want ErrPublished", err)
			}
			if !strings.Contains(err.Error(), "job 1") {
				t.Errorf("reason %q does not name the job that owns the delivery", err)
			}
			b, _ := os.ReadFile(filepath.Join(root, "clip", "pal", "clip.ts"))
			if string(b) != "old" {
				t.Errorf("published file is %q, want the first delivery kept", b)
			}
			next.Discard()
		})
	}
	// An empty folder in the way (made by hand) is not silently taken over
	// either: rename(2) would replace it.
	empty := filepath.Join(root, "clip", "ntsc")
	os.MkdirAll(empty, 0o755)
	d, _ := New(root, "clip", "ntsc", 3)
	os.WriteFile(d.File("clip.ts"), []byte("x"), 0o644)
	if err := d.Publish(); !errors.Is(err, ErrPublished) {
		t.Errorf("Publish over an empty folder: %v, want ErrPublished", err)
	}
}

// The same job run again (kilnd killed after the publish, before recording
// the end) replaces its own earlier delivery atomically.
func TestPublishReplacesOwnEarlierRunAtomically(t *testing.T) {
	root := t.TempDir()
	old, _ := New(root, "clip", "pal", 7)
	os.WriteFile(old.File("clip.ts"), []byte("old"), 0o644)
	os.WriteFile(old.File("stale.txt"), []byte("x"), 0o644)
	os.WriteFile(old.File("clip.kiln.json"), []byte(`{"job_id": 7}`), 0o644)
	if err := old.Publish(); err != nil {
		t.Fatal(err)
	}
	next, _ := New(root, "clip", "pal", 7)
	os.WriteFile(next.File("clip.ts"), []byte("new"), 0o644)
	os.WriteFile(next.File("clip.kiln.json"), []byte(`{"job_id": 7}`), 0o644)
	if err := next.Publish(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "clip", "pal", "clip.ts"))
	if string(b) != "new" {
		t.Errorf("got %q, want the new delivery", b)
	}
	if _, err := os.Stat(filepath.Join(root, "clip", "pal", "stale.txt")); !os.IsNotExist(err) {
		t.Errorf("a file of the replaced delivery survived")
	}
	entries, _ := os.ReadDir(filepath.Join(root, FolderName))
	if len(entries) != 0 {
		t.Errorf("replaced delivery left in staging: %d entries", len(entries))
	}
}

// Published folders and files get Dir.Mode (group-readable by default), not
// the 0700 of the staging folder (issue 21, item 15).
func TestPublishSetsOutputMode(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o077)) // a strict umask must not matter
	for _, tc := range []struct {
		mode              fs.FileMode
		wantDir, wantFile fs.FileMode
	}{
		{0, 0o750, 0o640},
		{0o755, 0o755, 0o644},
		{0o750 | fs.ModeSetgid, 0o750 | fs.ModeSetgid, 0o640},
	} {
		root := t.TempDir()
		d, _ := New(root, "clip", "hls", 1)
		d.Mode = tc.mode
		os.MkdirAll(d.File("720p"), 0o700)
		os.WriteFile(d.File("720p/seg1.ts"), []byte("x"), 0o600)
		os.WriteFile(d.File("master.m3u8"), []byte("x"), 0o600)
		if err := d.Publish(); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{"clip", "clip/hls", "clip/hls/720p"} {
			st, _ := os.Stat(filepath.Join(root, dir))
			if got := st.Mode() & (fs.ModePerm | fs.ModeSetgid); got != tc.wantDir {
				t.Errorf("mode %v: folder %s is %v, want %v", tc.mode, dir, got, tc.wantDir)
			}
		}
		for _, f := range []string{"clip/hls/master.m3u8", "clip/hls/720p/seg1.ts"} {
			st, _ := os.Stat(filepath.Join(root, f))
			if got := st.Mode() & (fs.ModePerm | fs.ModeSetgid); got != tc.wantFile {
				t.Errorf("mode %v: file %s is %v, want %v", tc.mode, f, got, tc.wantFile)
			}
		}
	}
}

func TestDiscardAndSweep(t *testing.T) {
	root := t.TempDir()
	a, _ := New(root, "a", "p", 10)
	b, _ := New(root, "b", "p", 11)
	os.WriteFile(a.File("x"), []byte("x"), 0o644)
	if err := a.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Path); !os.IsNotExist(err) {
		t.Error("discard left the folder")
	}
	c, _ := New(root, "c", "p", 12)
	if err := Sweep(root, func(id int64) bool { return id == 12 }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Path); !os.IsNotExist(err) {
		t.Error("sweep kept debris of a dead job")
	}
	if _, err := os.Stat(c.Path); err != nil {
		t.Error("sweep removed a running job's staging")
	}
	if err := Sweep(t.TempDir(), nil); err != nil {
		t.Errorf("sweep of a root without staging: %v", err)
	}
}

func TestQuarantineKeepsOutputsAside(t *testing.T) {
	root := t.TempDir()
	d, _ := New(root, "clip", "pal", 9)
	os.WriteFile(d.File("clip.ts"), []byte("bad"), 0o644)
	where, err := d.Quarantine()
	if err != nil {
		t.Fatal(err)
	}
	if where != filepath.Join(root, QuarantineName, "clip", "pal-job9") {
		t.Errorf("quarantined in %s", where)
	}
	if _, err := os.Stat(filepath.Join(where, "clip.ts")); err != nil {
		t.Errorf("quarantined output missing: %v", err)
	}
	if _, err := os.Stat(d.Final); !os.IsNotExist(err) {
		t.Error("a quarantined output was published")
	}
}

// A private publication (content keys, 0700) beside a public one leaves the
// shared <output>/<source>/ folder readable: ParentMode, not Mode, sets it.
func TestPrivatePublishKeepsSharedFolderOpen(t *testing.T) {
	root := t.TempDir()
	keys, _ := New(root, "clip", "web.keys", 1)
	keys.Mode, keys.ParentMode = 0o700, 0o750
	os.WriteFile(keys.File("key-1.key"), []byte("k"), 0o600)
	if err := keys.Publish(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{"clip": 0o750, "clip/web.keys": 0o700, "clip/web.keys/key-1.key": 0o600} {
		st, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", path, st.Mode().Perm(), want)
		}
	}
}

// Content keys are published just before their package. A run that died
// between the two leaves the keys alone; the job's next run replaces them
// (nothing else publishes under this source's name), but keys beside a
// published package are never replaced.
func TestCompanionLeftAloneIsReplaced(t *testing.T) {
	root := t.TempDir()
	publishKeys := func(id int64, key string) error {
		keys, _ := New(root, "clip", "web.keys", id)
		keys.Mode, keys.Companion = 0o700, "web"
		os.WriteFile(keys.File("key-1.key"), []byte(key), 0o600)
		err := keys.Publish()
		if err != nil {
			keys.Discard()
		}
		return err
	}
	if err := publishKeys(4, "first run"); err != nil {
		t.Fatal(err)
	}
	// The run died here, before the package; the next run of job 4:
	if err := publishKeys(4, "second run"); err != nil {
		t.Fatalf("keys left by a run that died before its package: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "clip", "web.keys", "key-1.key")); string(got) != "second run" {
		t.Errorf("keys hold %q, want the second run's", got)
	}
	pkg, _ := New(root, "clip", "web", 4)
	os.WriteFile(pkg.File("clip.kiln.json"), []byte(`{"job_id": 4}`), 0o644)
	if err := pkg.Publish(); err != nil {
		t.Fatal(err)
	}
	if err := publishKeys(5, "another job"); !errors.Is(err, ErrPublished) {
		t.Errorf("keys beside a published package: %v, want ErrPublished", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "clip", "web.keys", "key-1.key")); string(got) != "second run" {
		t.Errorf("keys hold %q after a refused publication", got)
	}
}

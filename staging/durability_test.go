package staging

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fsEvents records, in order, the syncs and renames Publish makes.
type fsEvents struct{ log []string }

func recordFS(t *testing.T) *fsEvents {
	t.Helper()
	ev := &fsEvents{}
	oldSync, oldRename, oldNoReplace, oldExchange := syncFile, rename, renameNoReplace, exchange
	syncFile = func(f *os.File) error {
		ev.log = append(ev.log, "sync "+f.Name())
		return oldSync(f)
	}
	rename = func(a, b string) error {
		ev.log = append(ev.log, "rename "+a)
		return oldRename(a, b)
	}
	renameNoReplace = func(a, b string) error {
		ev.log = append(ev.log, "rename "+a)
		return oldNoReplace(a, b)
	}
	exchange = func(a, b string) error {
		ev.log = append(ev.log, "rename "+a)
		return oldExchange(a, b)
	}
	t.Cleanup(func() { syncFile, rename, renameNoReplace, exchange = oldSync, oldRename, oldNoReplace, oldExchange })
	return ev
}

func (ev *fsEvents) index(t *testing.T, event string) int {
	t.Helper()
	i := slices.Index(ev.log, event)
	if i < 0 {
		t.Fatalf("%q never happened; events:\n%v", event, ev.log)
	}
	return i
}

// A power cut right after the rename must not leave a published name over
// data that never reached the disk: every staged file and folder, nested ABR
// folders included, is fsynced before the rename, each folder after its
// children, and the output folder that received the rename is fsynced after
// it.
func TestPublishSyncsEverythingBeforeTheRename(t *testing.T) {
	for _, replacing := range []bool{false, true} {
		name := "first delivery"
		if replacing {
			name = "replacing a delivery"
		}
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if replacing {
				// The same job's earlier run: the one delivery Publish replaces.
				old, err := New(root, "clip", "hls", 2)
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(old.File("old.m3u8"), []byte("old"), 0o644)
				os.WriteFile(old.File("clip.kiln.json"), []byte(`{"job_id": 2}`), 0o644)
				if err := old.Publish(); err != nil {
					t.Fatal(err)
				}
			}
			d, err := New(root, "clip", "hls", 2)
			if err != nil {
				t.Fatal(err)
			}
			files := []string{"master.m3u8", "720p/index.m3u8", "720p/seg1.ts", "720p/sub/deep.ts", "360p/seg1.ts"}
			for _, f := range files {
				p := d.File(f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ev := recordFS(t)
			if err := d.Publish(); err != nil {
				t.Fatal(err)
			}

			renamed := ev.index(t, "rename "+d.Path)
			dirs := []string{d.Path, d.File("720p"), d.File("720p/sub"), d.File("360p")}
			for _, f := range files {
				synced := ev.index(t, "sync "+d.File(f))
				if synced > renamed {
					t.Errorf("%s synced after the rename", f)
				}
				if dirSynced := ev.index(t, "sync "+filepath.Dir(d.File(f))); dirSynced < synced {
					t.Errorf("folder of %s synced before the file: a crash between could lose its entry", f)
				}
			}
			for _, dir := range dirs {
				if ev.index(t, "sync "+dir) > renamed {
					t.Errorf("folder %s synced after the rename", dir)
				}
			}
			parentSynced := ev.index(t, "sync "+filepath.Dir(d.Final))
			if parentSynced < renamed {
				t.Errorf("output folder synced only before the rename: the rename itself is not durable")
			}
			b, err := os.ReadFile(filepath.Join(d.Final, "720p/sub/deep.ts"))
			if err != nil || string(b) != "720p/sub/deep.ts" {
				t.Fatalf("published file: %q %v", b, err)
			}
		})
	}
}

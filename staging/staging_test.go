package staging

import (
	"os"
	"path/filepath"
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

func TestPublishReplacesEarlierDeliveryAtomically(t *testing.T) {
	root := t.TempDir()
	old, _ := New(root, "clip", "pal", 1)
	os.WriteFile(old.File("clip.ts"), []byte("old"), 0o644)
	os.WriteFile(old.File("stale.txt"), []byte("x"), 0o644)
	if err := old.Publish(); err != nil {
		t.Fatal(err)
	}
	next, _ := New(root, "clip", "pal", 2)
	os.WriteFile(next.File("clip.ts"), []byte("new"), 0o644)
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

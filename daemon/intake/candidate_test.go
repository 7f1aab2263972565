package intake

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestScan(t *testing.T) {
	inbox := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.mxf")
	write := func(rel string, n int) {
		t.Helper()
		p := filepath.Join(inbox, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("news.mxf", 10)
	write("promo.mov", 20)
	write(".hidden.mxf", 1)
	write("upload.mp4.part", 1)
	write("x.tmp", 1)
	write("y.crdownload", 1)
	write("done/old.mxf", 1)
	write("failed/bad.mxf", 1)
	write("sub/deeper.mxf", 1)
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(inbox, "link.mxf")); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(inbox, "news.mxf"), mtime, mtime); err != nil {
		t.Fatal(err)
	}

	got, err := Scan(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Scan found %+v, want news.mxf and promo.mov", got)
	}
	want := []Candidate{
		{Path: filepath.Join(inbox, "news.mxf"), Name: "news.mxf", Size: 10, Mtime: mtime},
		{Path: filepath.Join(inbox, "promo.mov"), Name: "promo.mov", Size: 20},
	}
	for i, w := range want {
		g := got[i]
		if g.Path != w.Path || g.Name != w.Name || g.Size != w.Size {
			t.Errorf("candidate %d = %+v, want %+v", i, g, w)
		}
		if !w.Mtime.IsZero() && !g.Mtime.Equal(w.Mtime) {
			t.Errorf("%s mtime %v, want %v", g.Name, g.Mtime, w.Mtime)
		}
	}
}

func TestScanRelativeDirGivesAbsolutePaths(t *testing.T) {
	inbox := t.TempDir()
	if err := os.WriteFile(filepath.Join(inbox, "a.ts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(inbox)
	got, err := Scan(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !filepath.IsAbs(got[0].Path) {
		t.Fatalf("Scan(.) = %+v, want one absolute path", got)
	}
}

func TestScanMissingInbox(t *testing.T) {
	if _, err := Scan(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("no error for a missing inbox")
	}
}

// Entries Kiln never takes are told with a reason, not skipped in silence
// (issue 21, item 12): links (broken or not), FIFOs, device nodes and folders
// named like media. Hidden names, in-transit names and plain subfolders are
// the documented convention and stay quiet.
func TestScanAllTellsWhatItSkips(t *testing.T) {
	inbox := t.TempDir()
	outside := filepath.Join(t.TempDir(), "real.mov")
	os.WriteFile(outside, []byte("x"), 0o644)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(outside, filepath.Join(inbox, "link.mov")))
	must(os.Symlink(filepath.Join(inbox, "gone.mov"), filepath.Join(inbox, "dangling.mov")))
	must(syscall.Mkfifo(filepath.Join(inbox, "pipe.ts"), 0o644))
	must(os.Mkdir(filepath.Join(inbox, "package.mxf"), 0o755))
	must(os.Mkdir(filepath.Join(inbox, "done"), 0o755))
	must(os.Mkdir(filepath.Join(inbox, "plain"), 0o755))
	must(os.WriteFile(filepath.Join(inbox, "clip.mp4"), []byte("x"), 0o644))
	must(os.WriteFile(filepath.Join(inbox, ".hidden.mp4"), []byte("x"), 0o644))
	if os.Geteuid() == 0 {
		must(syscall.Mknod(filepath.Join(inbox, "null.mxf"), syscall.S_IFCHR|0o644, 1<<8|3))
	}

	cands, skipped, err := ScanAll(inbox)
	must(err)
	if len(cands) != 1 || cands[0].Name != "clip.mp4" || cands[0].Inode == 0 {
		t.Errorf("candidates %+v, want clip.mp4 with its inode", cands)
	}
	want := map[string]string{
		"link.mov":     "symbolic link (to " + outside,
		"dangling.mov": "broken symbolic link",
		"pipe.ts":      "named pipe",
		"package.mxf":  "folder named like a media file",
	}
	if os.Geteuid() == 0 {
		want["null.mxf"] = "device node"
	}
	got := map[string]string{}
	for _, s := range skipped {
		got[s.Name] = s.Reason
	}
	for name, frag := range want {
		if !strings.Contains(got[name], frag) {
			t.Errorf("%s: reason %q, want it to say %q", name, got[name], frag)
		}
	}
	if len(got) != len(want) {
		t.Errorf("skipped %v, want exactly %v", got, want)
	}
}

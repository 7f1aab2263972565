package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Issue 21, item 1, in a fleet: two nodes that chose the same output folder
// name under one output folder for two different files cannot both record
// it; the second gets ErrOutputNameTaken and chooses again. The store keeps
// each source's output name and inode, and lists the names in use.
func TestOutputNameTakenOncePerOutputFolder(t *testing.T) { forEachBackend(t, testOutputNameTaken) }

func testOutputNameTaken(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	ns := func(path, name string) NewSource {
		return NewSource{Path: path, Watch: "w", OutputDir: "/out/w", Size: 10, Mtime: time.Unix(1700000000, 0),
			ContentHash: path, OutputName: name, Inode: 4242, Jobs: []NewJob{{Profile: "p"}}}
	}
	first, _, err := s.AddSource(ctx, ns("/in/a.mp4", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if first.OutputName != "a" || first.Inode != 4242 {
		t.Errorf("source as stored: output name %q, inode %d", first.OutputName, first.Inode)
	}
	if _, _, err := s.AddSource(ctx, ns("/in/a.mov", "a")); !errors.Is(err, ErrOutputNameTaken) {
		t.Errorf("a second source into out/w/a/: %v, want ErrOutputNameTaken", err)
	}
	if _, _, err := s.AddSource(ctx, ns("/in/a.mov", "a.mov")); err != nil {
		t.Errorf("the name chosen again: %v", err)
	}
	other := ns("/in/b.mp4", "a")
	other.OutputDir = "/out/other"
	if _, _, err := s.AddSource(ctx, other); err != nil {
		t.Errorf("the same name under another output folder: %v", err)
	}
	inUse, err := s.OutputNamesInUse(ctx, "/out/w")
	if err != nil || !inUse["a"] || !inUse["a.mov"] || len(inUse) != 2 {
		t.Errorf("names in use under /out/w: %v, %v; want a and a.mov", inUse, err)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 21, item 3: --check refuses an inbox that is state_dir through a
// symbolic link; Kiln would otherwise file its own job store to failed/.
func TestCheckRefusesInboxLinkedToStateDir(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, "state")
	os.MkdirAll(state, 0o755)
	if err := os.Symlink(state, filepath.Join(root, "in")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "kiln.toml")
	os.WriteFile(path, []byte(`[daemon]
state_dir = "state"

[[watch]]
name = "w"
inbox = "in"
output = "out"
profiles = ["p"]

[profile.p]
kind = "file"
codec = "h264"
`), 0o644)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", path, "--check"}, &out, &errOut)
	want := path + `:6: watch "w": inbox ` + state + " is state_dir " + state
	if code != 1 || !strings.Contains(errOut.String(), want) {
		t.Errorf("kilnd --check: exit %d, stderr %q; want 1 and %q", code, errOut.String(), want)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln/config"
)

// TestExampleConfigPassesCheck: the config make install puts in /etc/kiln
// passes `kilnd --config FILE --check`, which prints the effective config.
func TestExampleConfigPassesCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", "../../systemd/kiln.toml", "--check"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("kilnd --check systemd/kiln.toml: exit %d\n%s", code, errOut.String())
	}
	for _, want := range []string{`state_dir = "/var/lib/kiln"`, `socket = "/run/kiln/kiln.sock"`,
		`socket_group = "kiln"`, `stop_grace = "30s"`, `[profile.pal-mpeg2-16x9]`, `inbox = "/srv/kiln/in/pal-playout"`} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("effective config lacks %q:\n%s", want, out.String())
		}
	}
	// What --check prints is itself a valid config.
	if _, err := config.Parse(out.Bytes(), "effective", "/"); err != nil {
		t.Errorf("the effective config does not parse: %v", err)
	}
}

// TestCheckRejectsWithFileLine: a bad config exits 1 with file:line: reason.
func TestCheckRejectsWithFileLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(path, []byte("[daemon]\nstop_grace = \"2h\"\nsocket_group = \"a b\"\n"), 0o644)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", path, "--check"}, &out, &errOut)
	if code != 1 || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q", code, out.String())
	}
	for _, want := range []string{path + ":2: daemon: stop_grace", path + ":3: daemon: socket_group"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

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

// TestCheckHidesStorePassword: --check prints the fleet store's URL without
// its password, and refuses a store that is not PostgreSQL, naming the key
// but not the value.
func TestCheckHidesStorePassword(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "fleet.toml")
	os.WriteFile(good, []byte("[daemon]\nstore = \"postgres://kiln:s3cret@db.example:5432/kiln\"\nnode_name = \"encoder-1\"\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config", good, "--check"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	if s := out.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, `store = "postgres://kiln:xxxxx@db.example:5432/kiln"`) ||
		!strings.Contains(s, `node_name = "encoder-1"`) || !strings.Contains(s, `lease = "30s"`) {
		t.Errorf("effective config:\n%s", s)
	}

	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[daemon]\nstore = \"mysql://kiln:s3cret@db/kiln\"\n"), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"--config", bad, "--check"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d for a mysql:// store", code)
	}
	if s := errOut.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, bad+":2: daemon: store is not a postgres://") {
		t.Errorf("stderr: %s", s)
	}
}

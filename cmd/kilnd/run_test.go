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

// TestTranscodeRefusesBadArguments: kilnd transcode names what is wrong
// before it probes or starts a worker: usage (exit 2), an unknown profile
// or a source that is not a regular file (exit 1).
func TestTranscodeRefusesBadArguments(t *testing.T) {
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	profile := cfg.ProfileNames()[0]
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"transcode", "--profile", profile, "only-one-arg"}, 2, "usage: kilnd transcode"},
		{[]string{"transcode", "--profile", "no-such", dir + "/in.mp4", dir}, 1, `profile "no-such" is not defined`},
		{[]string{"transcode", "--profile", profile, dir + "/missing.mp4", dir + "/out"}, 1, "missing.mp4 is not a readable regular file"},
		{[]string{"transcode", "--profile", profile, dir, dir + "/out"}, 1, "is not a readable regular file"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), c.args, &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("kilnd %v: exit %d, stderr %q; want %d and %q", c.args, code, errOut.String(), c.code, c.want)
		}
	}
	if _, err := os.Stat(dir + "/out"); err == nil {
		t.Error("an output folder was made for a job that could not start")
	}
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 21, item 3: what Parse cannot see in the text, CheckFolders finds on
// disk: an inbox shared through a link, an inbox that is state_dir under
// another name, an output reached two ways, and a state_dir that cannot be
// created.
func TestCheckFoldersFollowsLinks(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"state", "in/a", "out/a"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for link, target := range map[string]string{
		"in-b":  "in/a",  // watch b's inbox: watch a's, through a link
		"in-c":  "state", // watch c's inbox: state_dir, through a link
		"out-d": "out/a", // watch d's output: watch a's
	} {
		if err := os.Symlink(filepath.Join(root, target), filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(root, "a-file")
	os.WriteFile(file, nil, 0o644)
	src := strings.ReplaceAll(`[daemon]
state_dir = "{{root}}/state"

[[watch]]
name = "a"
inbox = "{{root}}/in/a"
output = "{{root}}/out/a"
profiles = ["p"]

[[watch]]
name = "b"
inbox = "{{root}}/in-b"
output = "{{root}}/out/b"
profiles = ["p"]

[[watch]]
name = "c"
inbox = "{{root}}/in-c"
output = "{{root}}/out/c"
profiles = ["p"]

[[watch]]
name = "d"
inbox = "{{root}}/in/d"
output = "{{root}}/out-d"
profiles = ["p"]

[profile.p]
kind = "file"
codec = "h264"
`, "{{root}}", root)
	path := filepath.Join(root, "t.toml")
	os.WriteFile(path, []byte(src), 0o644)
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Parse refused what only links make wrong: %v", err)
	}
	err = CheckFolders(cfg)
	if err == nil {
		t.Fatal("CheckFolders found nothing")
	}
	got := err.Error()
	r := func(p string) string { return filepath.Join(root, p) }
	for _, want := range []string{
		path + ":12: watch \"b\": inbox " + r("in/a") + " is the inbox of watch \"a\": both watches would take each file (symbolic links followed)",
		path + ":18: watch \"c\": inbox " + r("state") + " is state_dir " + r("state"),
		path + ":25: watch \"d\": output " + r("out/a") + " is the output of watch \"a\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("CheckFolders said:\n%s\nwant a line with:\n%s", got, want)
		}
	}

	// state_dir under a file cannot be created.
	os.WriteFile(path, []byte("[daemon]\nstate_dir = \""+file+"/state\"\n"), 0o644)
	cfg, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	err = CheckFolders(cfg)
	if err == nil || !strings.Contains(err.Error(), path+":2: daemon: state_dir "+file+"/state cannot be created: "+file+" is a file, not a folder") {
		t.Errorf("state_dir under a file: %v", err)
	}

	// A config whose folders are apart passes, before any of them exists.
	cfg, err = Parse([]byte(strings.ReplaceAll("[daemon]\nstate_dir = \"{{root}}/new/state\"\n[[watch]]\nname = \"x\"\ninbox = \"{{root}}/new/in\"\noutput = \"{{root}}/new/out\"\nprofiles = [\"p\"]\n[profile.p]\nkind = \"file\"\ncodec = \"h264\"\n", "{{root}}", root)), "t.toml", root)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckFolders(cfg); err != nil {
		t.Errorf("folders apart: %v", err)
	}
}

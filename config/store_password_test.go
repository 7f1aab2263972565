package config

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStorePasswordFile: the fleet store's password can live in a file of
// its own, or in a systemd credential, instead of the config; kilnd
// connects with it, and neither --check nor an error ever shows it.
func TestStorePasswordFile(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "store-password")
	os.WriteFile(pwFile, []byte("s3cret/:@?\n"), 0o600)
	load := func(t *testing.T, daemon string) (*Config, error) {
		t.Helper()
		path := filepath.Join(dir, "kiln.toml")
		os.WriteFile(path, []byte("[daemon]\n"+daemon), 0o640)
		return Load(path)
	}

	t.Run("file", func(t *testing.T) {
		cfg, err := load(t, "store = \"postgres://kiln@db.example:5432/kiln?sslmode=require\"\nstore_password_file = \"store-password\"\n")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Daemon.StorePasswordFile != pwFile {
			t.Errorf("relative store_password_file resolved to %q, want %q (next to the config)", cfg.Daemon.StorePasswordFile, pwFile)
		}
		u, err := cfg.Daemon.StoreURL()
		if err != nil {
			t.Fatal(err)
		}
		// The password's /:@? are escaped: the URL still parses to it.
		parsed, err := url.Parse(u)
		if pw, _ := parsed.User.Password(); err != nil || pw != "s3cret/:@?" || parsed.User.Username() != "kiln" ||
			parsed.Host != "db.example:5432" || parsed.RawQuery != "sslmode=require" {
			t.Errorf("StoreURL = %q (%v)", u, err)
		}
		eff := string(cfg.Effective())
		if strings.Contains(eff, "s3cret") || !strings.Contains(eff, "store_password_file = \""+pwFile+"\"\n") {
			t.Errorf("effective config:\n%s", eff)
		}
		if _, err := Parse(cfg.Effective(), "effective", "/"); err != nil {
			t.Errorf("the effective config does not parse: %v", err)
		}
	})

	t.Run("no user in the URL", func(t *testing.T) {
		cfg, err := load(t, "store = \"postgres://db.example/kiln?user=kiln\"\nstore_password_file = \""+pwFile+"\"\n")
		if err != nil {
			t.Fatal(err)
		}
		u, err := cfg.Daemon.StoreURL()
		if want := "postgres://db.example/kiln?password=s3cret%2F%3A%40%3F&user=kiln"; err != nil || u != want {
			t.Errorf("StoreURL = %q, %v; want %q", u, err, want)
		}
	})

	t.Run("systemd credential", func(t *testing.T) {
		creds := t.TempDir()
		os.WriteFile(filepath.Join(creds, "store-password"), []byte("from-credential"), 0o400)
		cfg, err := load(t, "store = \"postgres://kiln@db.example/kiln\"\nstore_password_file = \"$CREDENTIALS_DIRECTORY/store-password\"\n")
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("CREDENTIALS_DIRECTORY", creds)
		if u, err := cfg.Daemon.StoreURL(); err != nil || u != "postgres://kiln:from-credential@db.example/kiln" {
			t.Errorf("StoreURL = %q, %v", u, err)
		}
		// Started by hand, outside the unit: the error says what to add.
		t.Setenv("CREDENTIALS_DIRECTORY", "")
		_, err = cfg.Daemon.StoreURL()
		if err == nil || !strings.Contains(err.Error(), "LoadCredential=store-password:/etc/kiln/store-password") {
			t.Errorf("without CREDENTIALS_DIRECTORY: %v", err)
		}
	})

	t.Run("unreadable", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		os.WriteFile(empty, []byte("\n"), 0o600)
		twoLines := filepath.Join(dir, "two")
		os.WriteFile(twoLines, []byte("s3cret\nother\n"), 0o600)
		for file, want := range map[string]string{
			filepath.Join(dir, "missing"): "no such file or directory",
			empty:                         "is empty",
			twoLines:                      "more than one line",
		} {
			cfg, err := load(t, "store = \"postgres://kiln@db/kiln\"\nstore_password_file = \""+file+"\"\n")
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.Daemon.StoreURL()
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s: %v, want an error with %q and no password", filepath.Base(file), err, want)
			}
		}
	})

	t.Run("config errors", func(t *testing.T) {
		for daemon, want := range map[string]string{
			"store_password_file = \"/etc/kiln/pw\"\n":                                                    ":2: daemon: store_password_file is set, but store is not",
			"store = \"postgres://kiln:inline@db/kiln\"\nstore_password_file = \"/etc/kiln/pw\"\n":        ":3: daemon: store already holds a password; keep it in one place",
			"store = \"postgres://db/kiln?password=inline\"\nstore_password_file = \"/etc/kiln/pw\"\n":    ":3: daemon: store already holds a password",
			"store = \"postgres://kiln@db/kiln\"\nstore_password_file = \"$CREDENTIALS_DIRECTORY/a/b\"\n": ":3: daemon: store_password_file = \"$CREDENTIALS_DIRECTORY/a/b\": name one credential",
			"store = \"postgres://kiln@db/kiln\"\nstore_password_file = \"~/pw\"\n":                       ":3: daemon: store_password_file = \"~/pw\": ~ is not expanded",
		} {
			_, err := load(t, daemon)
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "inline") {
				t.Errorf("%q: %v, want %q", daemon, err, want)
			}
		}
	})
}

package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln/config"
	"kiln/daemon/store/pgserver"
)

// TestStorePasswordFromFileOrCredential: kilnd reaches a PostgreSQL store
// that wants a password when the password is in store_password_file, or in
// a systemd credential ($CREDENTIALS_DIRECTORY), and never in the config;
// a wrong one is refused by the server without the error repeating it.
func TestStorePasswordFromFileOrCredential(t *testing.T) {
	const password = "pg-Pa55/w:rd@x"
	srv, err := pgserver.Start("", pgserver.Options{Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	store := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", srv.Port)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open := func(t *testing.T, passwordFile string) error {
		t.Helper()
		toml := fmt.Sprintf("[daemon]\nstate_dir = %q\nstore = %q\n", dir, store)
		if passwordFile != "" {
			toml += fmt.Sprintf("store_password_file = %q\n", passwordFile)
		}
		cfg, err := config.Parse([]byte(toml), "kiln.toml", dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := openJobStore(cfg)
		if err == nil {
			s.Close()
		}
		return err
	}

	if err := open(t, ""); err == nil {
		t.Fatal("the server let kilnd in without a password: the test proves nothing")
	}
	if err := open(t, write("store-password", password+"\n")); err != nil {
		t.Errorf("with store_password_file: %v", err)
	}
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "store-password"), []byte(password), 0o400)
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if err := open(t, "$CREDENTIALS_DIRECTORY/store-password"); err != nil {
		t.Errorf("with a systemd credential: %v", err)
	}
	err = open(t, write("wrong", "not-the-Pa55word\n"))
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if strings.Contains(err.Error(), "not-the-Pa55word") {
		t.Errorf("the error shows the password: %v", err)
	}
	t.Logf("wrong password: %v", err)
}

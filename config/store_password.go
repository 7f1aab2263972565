package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kiln/dsn"
)

// CredentialsPrefix starts a store_password_file that names a systemd
// credential: systemd copies the file given in LoadCredential= to a private
// folder that only the service can read, and names that folder in
// $CREDENTIALS_DIRECTORY.
const CredentialsPrefix = "$CREDENTIALS_DIRECTORY/"

// StoreURL is the store URL to connect with: Store, with the password from
// store_password_file when that is set. The file is read on each call, so
// that a changed password is taken on the next start. Errors name the file,
// never its content.
func (d Daemon) StoreURL() (string, error) {
	if d.Store == "" || d.StorePasswordFile == "" {
		return d.Store, nil
	}
	path := d.StorePasswordFile
	if name, ok := strings.CutPrefix(path, CredentialsPrefix); ok {
		dir := os.Getenv("CREDENTIALS_DIRECTORY")
		if dir == "" {
			return "", fmt.Errorf("store_password_file %s: kilnd was started without systemd credentials ($CREDENTIALS_DIRECTORY is not set); give kilnd.service LoadCredential=%s:/etc/kiln/%s", path, name, name)
		}
		path = filepath.Join(dir, name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("store_password_file: %w", err)
	}
	// One line; the newline an editor or echo leaves is not part of it.
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	switch {
	case pw == "":
		return "", fmt.Errorf("store_password_file %s is empty", path)
	case strings.ContainsAny(pw, "\r\n"):
		return "", fmt.Errorf("store_password_file %s holds more than one line; put the password alone on the first", path)
	}
	u, err := dsn.WithPassword(d.Store, pw)
	if err != nil {
		return "", errors.New("store: " + err.Error())
	}
	return u, nil
}

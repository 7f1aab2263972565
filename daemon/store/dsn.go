package store

import (
	"errors"
	"net/url"
	"strings"
)

// IsPostgresDSN reports whether s names a PostgreSQL store: a postgres:// or
// postgresql:// URL.
func IsPostgresDSN(s string) bool {
	lower := strings.ToLower(s)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// RedactDSN returns the DSN fit to print: a password, in the user part or as
// a password= parameter, is replaced by xxxxx. Logs, `kilnd --check` and the
// API show only this form.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// Printing a URL that does not parse could print its password.
		return "(a store URL that does not parse)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// dsnPassword is the DSN's password, in either place, or "".
func dsnPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return p
	}
	return u.Query().Get("password")
}

// redactSecret keeps a driver's error from carrying the password p into a log.
func redactSecret(err error, p string) error {
	if err == nil || p == "" || !strings.Contains(err.Error(), p) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
}

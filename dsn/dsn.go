// Package dsn knows the one thing both the config and the job store must
// agree on about a store URL: which URLs name PostgreSQL, and how to print
// one without its password. `kilnd --check` prints the config's form and the
// store's logs and errors print the store's; the two must match, and a
// printed config must parse again.
package dsn

import (
	"errors"
	"net/url"
	"strings"
)

// IsPostgres reports whether s names a PostgreSQL store: a postgres:// or
// postgresql:// URL.
func IsPostgres(s string) bool {
	lower := strings.ToLower(s)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// Redact returns s fit to print: a password, in the user part or as a
// password= parameter, is replaced by xxxxx. A URL that does not parse is
// not printed at all, since it could hold a password where Redact cannot
// find it.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a store URL that does not parse)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	out := u.Redacted()
	// net/url writes "postgres://" (no host, path or user: libpq's all
	// defaults) back as "postgres:", which is no longer a postgres:// URL.
	if IsPostgres(s) && !strings.Contains(out, "://") {
		out = u.Scheme + "://" + strings.TrimPrefix(out, u.Scheme+":")
	}
	return out
}

// HasPassword reports whether the URL s carries a password, in its user
// part or as a password= parameter.
func HasPassword(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	return u.Query().Has("password")
}

// WithPassword returns the URL s with password pw: in the user part when s
// names a user there, otherwise as a password= parameter (libpq's and pgx's
// spelling), so that the password can be kept in a file of its own.
func WithPassword(s, pw string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("the store URL does not parse")
	}
	if u.User != nil {
		u.User = url.UserPassword(u.User.Username(), pw)
	} else {
		q := u.Query()
		q.Set("password", pw)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

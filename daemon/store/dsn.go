package store

import (
	"errors"
	"net/url"
	"strings"
)

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

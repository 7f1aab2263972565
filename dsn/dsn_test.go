package dsn

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://kiln:s3cret@db.example:5432/kiln?sslmode=require": "postgres://kiln:xxxxx@db.example:5432/kiln?sslmode=require",
		"postgresql://db/kiln?user=kiln&password=s3cret":              "postgresql://db/kiln?password=xxxxx&user=kiln",
		"postgres://kiln@db/kiln":                                     "postgres://kiln@db/kiln",
		"postgres://":                                                 "postgres://",
		"postgresql://?sslmode=disable":                               "postgresql://?sslmode=disable",
		"postgres:///kiln":                                            "postgres:///kiln",
	} {
		got := Redact(in)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if !IsPostgres(got) {
			t.Errorf("Redact(%q) = %q no longer names PostgreSQL", in, got)
		}
	}
	if got := Redact("postgres://kiln:s3cret@db:bad port/x"); strings.Contains(got, "s3cret") {
		t.Errorf("an unparsable URL printed its password: %q", got)
	}
}

// TestWithPassword: a password from a file goes into the user part, or into
// a password= parameter when the URL names no user there, escaped so that
// the URL still parses to it; HasPassword sees both spellings.
func TestWithPassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://kiln@db/kiln":            "postgres://kiln:p%40ss%2Fw%3Ard@db/kiln",
		"postgres://db/kiln?user=kiln":       "postgres://db/kiln?password=p%40ss%2Fw%3Ard&user=kiln",
		"postgresql://kiln@db:5432/kiln?x=1": "postgresql://kiln:p%40ss%2Fw%3Ard@db:5432/kiln?x=1",
	} {
		if HasPassword(in) {
			t.Errorf("HasPassword(%q) = true", in)
		}
		got, err := WithPassword(in, "p@ss/w:rd")
		if err != nil || got != want {
			t.Errorf("WithPassword(%q) = %q, %v; want %q", in, got, err, want)
		}
		if !HasPassword(got) || strings.Contains(Redact(got), "p%40ss") {
			t.Errorf("%q: HasPassword false or Redact shows it: %q", got, Redact(got))
		}
	}
}

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

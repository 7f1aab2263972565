package store

import (
	"fmt"
	"strings"
)

// Priority orders the queue. Lower values run first. The values are stored in
// the jobs table, so they must not be renumbered. Normal is the zero value, so
// a job nobody gave a priority is an ordinary one.
type Priority int

const (
	High   Priority = -1
	Normal Priority = 0
	Low    Priority = 1
)

// ParsePriority reads "high", "normal" or "low", as written in the config and
// the API.
func ParsePriority(s string) (Priority, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "high":
		return High, nil
	case "normal":
		return Normal, nil
	case "low":
		return Low, nil
	}
	return Normal, fmt.Errorf("priority %q: use high, normal or low", s)
}

func (p Priority) String() string {
	switch p {
	case High:
		return "high"
	case Normal:
		return "normal"
	case Low:
		return "low"
	}
	return fmt.Sprintf("priority(%d)", int(p))
}

// MarshalText and UnmarshalText let a Priority sit directly in JSON and TOML.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.valid() {
		return nil, fmt.Errorf("invalid %s", p)
	}
	return []byte(p.String()), nil
}

func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

func (p Priority) valid() bool { return p >= High && p <= Low }

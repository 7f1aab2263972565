package config

import (
	"fmt"
	"time"
)

// ParseDuration reads a Go duration string ("5s", "1m30s") and rejects
// negative ones, which no setting here can use.
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return Duration{}, fmt.Errorf("invalid duration %q: want a number with a unit, such as \"5s\", \"500ms\" or \"1m30s\"", s)
	}
	if d < 0 {
		return Duration{}, fmt.Errorf("duration %q is negative", s)
	}
	return Duration{d}, nil
}

// MarshalText writes the duration the way time.Duration prints it ("1m30s"),
// which ParseDuration reads back unchanged.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalTOML exists to turn the common slip settle = 5 into advice instead
// of a type error.
func (d *Duration) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return d.UnmarshalText([]byte(v))
	case int64:
		return fmt.Errorf("duration must be a string with a unit, got integer %d; write \"%ds\" for seconds", v, v)
	}
	return fmt.Errorf("duration must be a string such as \"5s\", got %s", describe(v))
}

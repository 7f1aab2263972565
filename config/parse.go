package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/BurntSushi/toml"
)

// maxConfigSize bounds the input Parse accepts.
const maxConfigSize = 1 << 20

// DefaultOrigin is the Origin of the embedded default config.
const DefaultOrigin = "<embedded default>"

//go:embed default.toml
var defaultTOML []byte

// DefaultTOML returns the text of the embedded default config, for
// `kilnd --print-default` style commands and for documentation.
func DefaultTOML() []byte { return append([]byte(nil), defaultTOML...) }

// Load reads and parses the config file at path. Relative paths inside it are
// taken relative to the file's own folder, so a config means the same thing
// whatever directory kilnd was started from.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return Parse(data, path, filepath.Dir(abs))
}

// Default parses the embedded default config (see default.toml), which puts
// everything under ./var of the current working directory, for `make demo`.
func Default() (*Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("default config: %w", err)
	}
	return Parse(defaultTOML, DefaultOrigin, wd)
}

// Parse decodes, defaults and validates a config. origin names the source in
// messages; relative paths are resolved against baseDir (the working
// directory when baseDir is empty or itself relative).
//
// On failure the error is an *Errors holding every problem found, each with
// its line, and the returned Config is nil: a half-valid config is never
// handed out, so a failed reload cannot leak into the running daemon.
func Parse(data []byte, origin string, baseDir string) (*Config, error) {
	if origin == "" {
		origin = "<config>"
	}
	base, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, fmt.Errorf("config %s: base directory: %w", origin, err)
	}

	// The TOML parser slows down sharply on pathological nesting; a real
	// Kiln config is a few kilobytes.
	if len(data) > maxConfigSize {
		return nil, &Errors{List: []Error{{File: origin, Msg: fmt.Sprintf("config is %d bytes; the limit is %d", len(data), maxConfigSize)}}}
	}

	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Errors{List: []Error{{File: origin, Line: pe.Position.Line, Msg: "TOML syntax: " + pe.Message}}}
		}
		return nil, &Errors{List: []Error{{File: origin, Msg: err.Error()}}}
	}

	rep := &reporter{origin: origin, lines: indexLines(data)}
	d := &decoder{report: rep, set: map[string]bool{}, bad: map[string]bool{}}
	cfg := &Config{Origin: origin}
	d.decodeConfig(raw, cfg)
	if cfg.Profiles == nil {
		cfg.Profiles = map[string]*Profile{}
	}

	c := &checker{reporter: rep, set: d.set, bad: d.bad, base: base}
	c.config(cfg)

	if len(rep.errs) > 0 {
		sort.SliceStable(rep.errs, func(i, j int) bool { return rep.errs[i].Line < rep.errs[j].Line })
		return nil, &Errors{List: rep.errs}
	}
	return cfg, nil
}

// reporter collects errors, placing each on the line of the key it is about.
type reporter struct {
	origin string
	lines  *lineIndex
	errs   []Error
}

func (r *reporter) at(p keyPath, msg string) {
	r.errs = append(r.errs, Error{File: r.origin, Line: r.lines.lookup(p), Msg: msg})
}

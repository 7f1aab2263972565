package config

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse holds Parse to its promises on any input: no panic, either a
// config or an *Errors with lines inside the input, and a config's effective
// form parses back to the same effective form.
func FuzzParse(f *testing.F) {
	f.Add(defaultTOML)
	f.Add([]byte(kitchenSink))
	for _, tc := range rejectCases {
		f.Add([]byte(tc.src))
	}
	for _, tc := range acceptCases {
		f.Add([]byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		indexLines(data) // must terminate on text the parser rejects, too

		cfg, err := Parse(data, "fuzz.toml", "/srv/kiln")
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error is not a non-empty *Errors: %#v", err)
			}
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, e := range errs.List {
				if e.File != "fuzz.toml" || e.Line < 0 || e.Line > lines || e.Msg == "" {
					t.Fatalf("bad error %+v for %d lines of input", e, lines)
				}
			}
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		text := cfg.Effective()
		again, err := Parse(text, "fuzz.toml", "/elsewhere")
		if err != nil {
			t.Fatalf("effective config does not parse: %v\n%s", err, text)
		}
		if text2 := again.Effective(); !bytes.Equal(text, text2) {
			t.Fatalf("effective config changed on a round trip:\n%s\n---\n%s", text, text2)
		}
	})
}

package config

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestIndexLines(t *testing.T) {
	src := strings.TrimPrefix(`
top = 1 # a comment with [brackets] and key = "value"
s = "a # not a comment, [not a table]"
ml = """
line one
x = 1
"""
lit = '''
[also.not.a.table]
'''

[daemon]
cpu_jobs = 2

[[watch]]
name = "a"

[[watch]]
name = "b"
profiles = [
  "p1",
  "p2", # trailing comment
]

[profile."pal.v2"]
kind = "broadcast"
audio = { codec = "mp2",
  loudness = -23.0,
}
watermark.image = "logo.png"

[profile.web.encryption]
key_uri = "x"

[profile.web]
kind = "abr"
[ profile . 'lit' ]
when = 1979-05-27 07:32:00
after = 2
watch = [ { name = "x" }, { name = "y",
  bogus = 1 } ]
`, "\n")
	// The scanner only ever sees text the parser accepted; keep this honest.
	if _, err := toml.Decode(src, new(map[string]any)); err != nil {
		t.Fatalf("test document is not valid TOML: %v", err)
	}
	x := indexLines([]byte(src))
	for _, tc := range []struct {
		path keyPath
		want int
	}{
		{keyPath{"top"}, 1},
		{keyPath{"s"}, 2},
		{keyPath{"ml"}, 3},
		{keyPath{"lit"}, 7},
		{keyPath{"daemon"}, 11},
		{keyPath{"daemon", "cpu_jobs"}, 12},
		{keyPath{"daemon", "nothing"}, 11}, // falls back to the table
		{keyPath{"watch", "#0"}, 14},
		{keyPath{"watch", "#0", "name"}, 15},
		{keyPath{"watch", "#1"}, 17},
		{keyPath{"watch", "#1", "name"}, 18},
		{keyPath{"watch", "#1", "profiles"}, 19},
		{keyPath{"watch", "#1", "profiles", "#1"}, 21},
		{keyPath{"profile", "pal.v2"}, 24},
		{keyPath{"profile", "pal.v2", "audio"}, 26},
		{keyPath{"profile", "pal.v2", "audio", "codec"}, 26},
		{keyPath{"profile", "pal.v2", "audio", "loudness"}, 27},
		{keyPath{"profile", "pal.v2", "watermark"}, 29},
		{keyPath{"profile", "pal.v2", "watermark", "image"}, 29},
		{keyPath{"profile", "web", "encryption", "key_uri"}, 32},
		{keyPath{"profile", "web"}, 34}, // the explicit header wins over the implicit one
		{keyPath{"profile", "web", "kind"}, 35},
		{keyPath{"profile", "lit"}, 36},
		{keyPath{"profile", "lit", "after"}, 38},
		{keyPath{"profile", "lit", "watch", "#1", "bogus"}, 40},
		{keyPath{"nowhere"}, 0},
	} {
		if got := x.lookup(tc.path); got != tc.want {
			t.Errorf("line of %q = %d; want %d", tc.path.dotted(), got, tc.want)
		}
	}
}

// Inputs the TOML parser rejects never reach the scanner in Parse, but the
// scanner must still stop on them; FuzzParse also runs it on raw input.
func TestIndexLinesTerminates(t *testing.T) {
	for _, src := range []string{
		"[", "[[", "a = [", "a = {", `a = "`, `a = """`, "a = '''", "a = [{", "= = =",
		"a.", "[a.]", "a = [1,,]", "a = {,}", "\"\\", "a = 1979-05-27 ", "\x00", "a = [\x00]",
	} {
		indexLines([]byte(src))
	}
}

// Nesting and key depth no Kiln config has must cost linear time, and keys
// after them must still get their lines.
func TestIndexLinesDeep(t *testing.T) {
	src := "a = " + strings.Repeat("[", 5000) + "\n\"]\"\n" + strings.Repeat("]", 5000) + "\n" +
		"b = " + strings.Repeat("{ x = ", 5000) + "1" + strings.Repeat("}", 5000) + "\n" +
		strings.Repeat("c.", 5000) + "d = 1\n" +
		"[" + strings.Repeat("e.", 5000) + "f]\n" +
		"[daemon]\ncpu_jobs = 2\n"
	x := indexLines([]byte(src))
	if got := x.lookup(keyPath{"daemon", "cpu_jobs"}); got != 8 {
		t.Errorf("line of daemon.cpu_jobs = %d; want 8", got)
	}
	if got := x.lookup(keyPath{"b"}); got != 4 {
		t.Errorf("line of b = %d; want 4", got)
	}
}

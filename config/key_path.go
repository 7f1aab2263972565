package config

import (
	"strconv"
	"strings"
)

// keyPath names a value in the TOML tree: table and key names, with "#N"
// (0-based) for an element of an array, so [[watch]] number two is
// {"watch", "#1"}. The decoder and the line scanner build the same paths,
// which is how a message finds its line.
type keyPath []string

// with returns a new path; it never shares the backing array, because paths
// are kept in maps long after their siblings are built.
func (p keyPath) with(elems ...string) keyPath {
	q := make(keyPath, len(p), len(p)+len(elems))
	copy(q, p)
	return append(q, elems...)
}

func (p keyPath) index(i int) keyPath { return p.with("#" + strconv.Itoa(i)) }

// id is the map key of a path. NUL cannot occur in a TOML key.
func (p keyPath) id() string { return strings.Join(p, "\x00") }

func isIndex(elem string) bool { return len(elem) > 1 && elem[0] == '#' }

// dotted renders the path relative to nothing, as TOML would spell it, with
// array elements as [N]: audio.codec, profiles[2].
func (p keyPath) dotted() string {
	var b strings.Builder
	for _, e := range p {
		if isIndex(e) {
			b.WriteString("[" + e[1:] + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tomlKey(e))
	}
	return b.String()
}

// table names the table the path denotes the way the user wrote its header:
// "the top level", "[profile.web]", "[profile.web.audio]", "[[watch]] #2".
func (p keyPath) table() string {
	if len(p) == 0 {
		return "the top level"
	}
	if last := p[len(p)-1]; isIndex(last) {
		n, _ := strconv.Atoi(last[1:])
		return "[[" + p[:len(p)-1].dotted() + "]] #" + strconv.Itoa(n+1)
	}
	return "[" + p.dotted() + "]"
}

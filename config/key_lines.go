package config

import "strconv"

// lineIndex maps key paths to the line that defines them. BurntSushi/toml
// reports lines for syntax errors only, so for everything found after
// decoding (unknown keys, bad values) the line comes from this second, much
// simpler pass over the source text.
//
// The scanner runs only on text the TOML parser has accepted, so it does not
// validate; it only has to track where each key lives: table headers, array
// of tables, dotted keys, inline tables and arrays (also across lines), and
// strings that could hide a '#', '=' or newline. It must still terminate and
// never panic on any input, which FuzzParse checks, and stay linear in the
// input: paths deeper than maxLineDepth, which no Kiln key reaches, are not
// recorded (a nil path below means "not recorded"), and values nested deeper
// than maxNesting are skipped without recursion.
const (
	maxLineDepth = 8
	maxNesting   = 64
)

type lineIndex struct {
	lines    map[string]int
	implicit map[string]bool // tables only created by a longer header or dotted key
}

// lookup gives the line of path, or of its nearest ancestor that has one, or 0.
func (x *lineIndex) lookup(p keyPath) int {
	if x == nil {
		return 0
	}
	for n := len(p); n > 0; n-- {
		if l, ok := x.lines[p[:n].id()]; ok {
			return l
		}
	}
	return 0
}

// define records where a key or table header is written.
func (x *lineIndex) define(p keyPath, line int) {
	if p == nil || len(p) > maxLineDepth {
		return
	}
	x.lines[p.id()] = line
	delete(x.implicit, p.id())
}

// touch records where a table first appears when it is never written
// explicitly, e.g. [profile.web] made by [profile.web.audio].
func (x *lineIndex) touch(p keyPath, line int) {
	if p == nil || len(p) > maxLineDepth {
		return
	}
	if _, ok := x.lines[p.id()]; !ok {
		x.lines[p.id()] = line
		x.implicit[p.id()] = true
	}
}

type lineScanner struct {
	src    []byte
	i      int
	line   int
	idx    *lineIndex
	arrays map[string]int // element count of each [[array]] seen so far
	nest   int            // depth of arrays and inline tables being read
}

func indexLines(src []byte) *lineIndex {
	s := &lineScanner{
		src:    src,
		line:   1,
		idx:    &lineIndex{lines: map[string]int{}, implicit: map[string]bool{}},
		arrays: map[string]int{},
	}
	s.document()
	return s.idx
}

func (s *lineScanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

func (s *lineScanner) hasPrefix(p string) bool {
	return len(s.src)-s.i >= len(p) && string(s.src[s.i:s.i+len(p)]) == p
}

func (s *lineScanner) skipBlanks() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipToEOL leaves the newline itself for the caller to count.
func (s *lineScanner) skipToEOL() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
}

// skipSpace skips blanks, newlines and comments, as allowed between array
// elements and, since TOML 1.1, inside inline tables.
func (s *lineScanner) skipSpace() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r':
			s.i++
		case '\n':
			s.line++
			s.i++
		case '#':
			s.skipToEOL()
		default:
			return
		}
	}
}

func (s *lineScanner) document() {
	table := keyPath{}
	for s.i < len(s.src) {
		s.skipBlanks()
		if s.i >= len(s.src) {
			return
		}
		switch c := s.src[s.i]; c {
		case '\n':
			s.line++
			s.i++
		case '\r':
			s.i++
		case '#':
			s.skipToEOL()
		case '[':
			table = s.header()
			s.skipToEOL()
		default:
			start := s.i
			s.keyValue(table)
			if s.i == start {
				s.i++
			}
			s.skipToEOL()
		}
	}
}

// header reads [a.b] or [[a.b]] and returns the resolved path of the table
// it opens, with the element index of every array of tables on the way.
func (s *lineScanner) header() keyPath {
	line := s.line
	array := s.hasPrefix("[[")
	if array {
		s.i += 2
	} else {
		s.i++
	}
	key := s.key()
	if len(key) > maxLineDepth {
		return nil
	}
	out := keyPath{}
	for j, k := range key {
		out = out.with(k)
		id := out.id()
		switch n, seen := s.arrays[id]; {
		case array && j == len(key)-1:
			s.arrays[id] = n + 1
			s.idx.touch(out, line)
			out = out.index(n)
		case seen && n > 0:
			out = out.index(n - 1)
		}
		if j < len(key)-1 {
			s.idx.touch(out, line)
		}
	}
	s.idx.define(out, line)
	return out
}

// keyValue reads `key = value` inside table and records every key in it.
func (s *lineScanner) keyValue(table keyPath) {
	line := s.line
	key := s.key()
	if len(key) == 0 {
		return
	}
	s.skipBlanks()
	if s.peek(0) != '=' {
		return
	}
	s.i++
	s.skipBlanks()
	var full keyPath
	if table != nil && len(table)+len(key) <= maxLineDepth {
		full = table
		for j, k := range key {
			full = full.with(k)
			if j < len(key)-1 {
				s.idx.touch(full, line)
			}
		}
		s.idx.define(full, line)
	}
	s.value(full)
}

// key reads a possibly dotted key of bare, "basic" and 'literal' parts.
func (s *lineScanner) key() []string {
	var parts []string
	for {
		s.skipBlanks()
		part, ok := s.simpleKey()
		if !ok {
			return parts
		}
		parts = append(parts, part)
		s.skipBlanks()
		if s.peek(0) != '.' {
			return parts
		}
		s.i++
	}
}

func (s *lineScanner) simpleKey() (string, bool) {
	switch c := s.peek(0); {
	case c == '"':
		raw := s.basicString()
		if v, err := strconv.Unquote(raw); err == nil {
			return v, true
		}
		// An escape TOML has and Go lacks (\e, \x in 1.1): keep the raw text;
		// only the line lookup for that odd key is affected.
		if len(raw) >= 2 {
			return raw[1 : len(raw)-1], true
		}
		return raw, true
	case c == '\'':
		raw := s.literalString()
		if len(raw) >= 2 {
			return raw[1 : len(raw)-1], true
		}
		return raw, true
	case isBareKeyByte(c):
		start := s.i
		for s.i < len(s.src) && isBareKeyByte(s.src[s.i]) {
			s.i++
		}
		return string(s.src[start:s.i]), true
	}
	return "", false
}

// isBareKeyByte accepts non-ASCII bytes too, in case the parser allows
// Unicode bare keys; a wrong guess only costs a line number.
func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c >= 0x80
}

// basicString consumes a single-line "..." and returns it with its quotes,
// stopping at the end of the line if the closing quote is missing.
func (s *lineScanner) basicString() string {
	start := s.i
	s.i++
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			if s.peek(1) == '\n' {
				s.i++
				continue
			}
			s.i += 2
		case '"':
			s.i++
			return string(s.src[start:s.i])
		case '\n':
			return string(s.src[start:s.i])
		default:
			s.i++
		}
	}
	if s.i > len(s.src) {
		s.i = len(s.src)
	}
	return string(s.src[start:s.i])
}

func (s *lineScanner) literalString() string {
	start := s.i
	s.i++
	for s.i < len(s.src) && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
		s.i++
	}
	if s.i < len(s.src) && s.src[s.i] == '\'' {
		s.i++
	}
	return string(s.src[start:s.i])
}

// multiline consumes a """...""" or ”'...”' string, counting its lines.
// Up to two quotes right before the closing delimiter belong to the content.
func (s *lineScanner) multiline(q byte, escapes bool) {
	s.i += 3
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\\' && escapes:
			s.i++
			if s.i < len(s.src) {
				if s.src[s.i] == '\n' {
					s.line++
				}
				s.i++
			}
		case c == '\n':
			s.line++
			s.i++
		case c == q && s.peek(1) == q && s.peek(2) == q:
			s.i += 3
			for n := 0; n < 2 && s.peek(0) == q; n++ {
				s.i++
			}
			return
		default:
			s.i++
		}
	}
}

// value consumes one value at path, recording the keys of inline tables and
// the elements of arrays.
func (s *lineScanner) value(path keyPath) {
	switch c := s.peek(0); {
	case s.hasPrefix(`"""`):
		s.multiline('"', true)
	case s.hasPrefix(`'''`):
		s.multiline('\'', false)
	case c == '"':
		s.basicString()
	case c == '\'':
		s.literalString()
	case (c == '[' || c == '{') && s.nest >= maxNesting:
		s.skipNested()
	case c == '[':
		s.nest++
		s.array(path)
		s.nest--
	case c == '{':
		s.nest++
		s.inlineTable(path)
		s.nest--
	default:
		s.scalar()
	}
}

func (s *lineScanner) array(path keyPath) {
	s.i++
	for n := 0; s.i < len(s.src); {
		s.skipSpace()
		switch s.peek(0) {
		case 0:
			if s.i >= len(s.src) {
				return
			}
			s.i++
			continue
		case ']':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		var elem keyPath
		if path != nil {
			elem = path.index(n)
			s.idx.define(elem, s.line)
		}
		start := s.i
		s.value(elem)
		if s.i == start {
			s.i++ // not a value: step over it rather than loop
		}
		n++
	}
}

func (s *lineScanner) inlineTable(path keyPath) {
	s.i++
	for s.i < len(s.src) {
		s.skipSpace()
		switch s.peek(0) {
		case '}':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		start := s.i
		s.keyValue(path)
		if s.i == start {
			s.i++
		}
	}
}

// scalar consumes a number, boolean or date-time. A date-time may hold one
// space ("1979-05-27 07:32:00"), so a space after a date is not the end.
func (s *lineScanner) scalar() {
	start := s.i
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ',', ']', '}', '#', '\n', '\r', '\t':
			return
		case ' ':
			if s.i-start == 10 && s.src[start+4] == '-' && s.src[start+7] == '-' &&
				s.peek(1) >= '0' && s.peek(1) <= '9' {
				s.i++
				continue
			}
			return
		}
		s.i++
	}
}

// skipNested consumes a deeply nested array or inline table without
// recursion, counting its lines.
func (s *lineScanner) skipNested() {
	depth := 0
	for s.i < len(s.src) {
		switch c := s.src[s.i]; {
		case s.hasPrefix(`"""`):
			s.multiline('"', true)
		case s.hasPrefix(`'''`):
			s.multiline('\'', false)
		case c == '"':
			s.basicString()
		case c == '\'':
			s.literalString()
		case c == '#':
			s.skipToEOL()
		case c == '\n':
			s.line++
			s.i++
		case c == '[' || c == '{':
			depth++
			s.i++
		case c == ']' || c == '}':
			depth--
			s.i++
			if depth <= 0 {
				return
			}
		default:
			s.i++
		}
	}
}

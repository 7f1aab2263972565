package main

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// termSafe makes an untrusted string (a file name, a job's source, a reason
// that quotes one) harmless on a terminal. Anyone who can drop a file into an
// inbox names it, and a name may hold escape sequences that recolour, move
// the cursor or retitle the operator's terminal, or a newline that breaks a
// table into fake rows. A string that is all printable comes back as it is;
// any other comes back Go-quoted, so that ESC shows as \x1b and a newline as
// \n, and the quotes tell the reader the name was escaped. Invisible format
// characters such as a right-to-left override are not printable either, so
// a name cannot pretend to end in another extension.
func termSafe(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// termSafeBlock makes a multi-line text that the daemon produced (a report's
// JSON) safe to print: it keeps newlines and tabs, which the text uses for its
// layout, and writes every other control character as a JSON \u escape.
// encoding/json already escapes C0 controls in strings, but not the C1
// range (U+0080..U+009F, where CSI is U+009B) nor invalid bytes.
func termSafeBlock(s string) string {
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '\n' || r == '\t' || strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		case r <= 0xffff:
			b.WriteString(`\u` + leftPad(strconv.FormatInt(int64(r), 16), 4))
		default:
			b.WriteString(strconv.QuoteRune(r))
		}
	}
	return b.String()
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// fitWidth cuts s to at most cols terminal columns, ending it with "…" when
// cut. Wide characters (CJK) count as two columns, as the terminal draws
// them. cols <= 0 means no limit.
func fitWidth(s string, cols int) string {
	if cols <= 0 || runewidth.StringWidth(s) <= cols {
		return s
	}
	return runewidth.Truncate(s, cols, "…")
}

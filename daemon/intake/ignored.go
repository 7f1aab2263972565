package intake

import "strings"

// ignoredSuffixes are the names copy tools give a file while it is still
// arriving; the tool renames it when it is done.
var ignoredSuffixes = []string{".part", ".tmp", ".crdownload"}

// Ignored reports whether a file name in an inbox is never taken in: hidden
// files (a leading dot, which is also how rsync and many uploaders name a file
// in transit) and the in-transit suffixes above, matched without regard to
// case.
func Ignored(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") {
		return true
	}
	lower := strings.ToLower(name)
	for _, suffix := range ignoredSuffixes {
		if strings.HasSuffix(lower, suffix) {
			return true
		}
	}
	return false
}

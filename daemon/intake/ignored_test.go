package intake

import "testing"

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{
		"news.mxf":            false,
		"News At Ten.MOV":     false,
		"clip.ts":             false,
		"partial.mp4":         false, // "part" inside the name is not the suffix
		"tmp":                 false,
		"":                    true,
		".hidden.mxf":         true,
		".news.mxf.Ab12Cd":    true, // rsync's file in transit
		".":                   true,
		"..":                  true,
		"news.mxf.part":       true,
		"news.mxf.PART":       true,
		"news.tmp":            true,
		"news.mxf.Tmp":        true,
		"news.mp4.crdownload": true,
		"news.mp4.CRDOWNLOAD": true,
		"news.part.mxf":       false,
		"news.crdownload.mxf": false,
	} {
		if got := Ignored(name); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", name, got, want)
		}
	}
}

package daemon

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCommentsCiteTheRepository: code cites docs/ARCHITECTURE.md, by
// sections that exist, and never a design document outside the repository.
func TestCommentsCiteTheRepository(t *testing.T) {
	const doc = "../docs/ARCHITECTURE.md"
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			sections[h] = true
		}
	}
	for _, want := range []string{"Processes", "Packages", "Worker protocol", "Job lifecycle", "Staging and publishing", "Store"} {
		if !sections[want] {
			t.Errorf("%s has no section %q", doc, want)
		}
	}
	outside := regexp.MustCompile(`DESIGN\.md|(?i:design doc)|§`)
	cite := regexp.MustCompile(`docs/ARCHITECTURE\.md, "([^"]+)"`)
	cited := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", "results":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".sh", ".cu", ".h", ".c", ".toml", ".service", ".md":
		default:
			if d.Name() != "Makefile" {
				return nil
			}
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(text), "\n") {
			if outside.MatchString(line) && !strings.HasSuffix(path, "docs_test.go") {
				t.Errorf("%s:%d cites a design document outside the repository: %s", path, i+1, strings.TrimSpace(line))
			}
			for _, m := range cite.FindAllStringSubmatch(line, -1) {
				cited++
				if !sections[m[1]] {
					t.Errorf("%s:%d cites section %q, which %s does not have", path, i+1, m[1], doc)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Error("no code cites docs/ARCHITECTURE.md by section; the walk is broken")
	}
}

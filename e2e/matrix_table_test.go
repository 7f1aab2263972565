package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README holds the matrix between these markers; -update-matrix
// rewrites it from a full run, and every run checks the cells it ran.
const (
	matrixBegin = "<!-- matrix:begin (written by make matrix; edit matrixLimits in e2e/matrix_test.go) -->"
	matrixEnd   = "<!-- matrix:end -->"
)

// matrixTable renders source × profile → ok or a limit's id, and the
// limits in words.
func matrixTable(sources []matrixSource, profiles []string, outcomes []matrixOutcome) string {
	cells := map[string]string{}
	used := map[string]bool{}
	for _, o := range outcomes {
		cell, _ := o.judge()
		cells[o.source+"→"+o.profile] = cell
		used[cell] = true
	}
	var b strings.Builder
	b.WriteString("| source | " + strings.Join(profiles, " | ") + " |\n|---|" + strings.Repeat("---|", len(profiles)) + "\n")
	for _, s := range sources {
		b.WriteString("| " + s.label + " |")
		for _, p := range profiles {
			c := cells[s.id+"→"+p]
			if c == "" {
				c = "–"
				used[c] = true
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	first := true
	for _, l := range matrixLimits {
		if !used[l.id] {
			continue
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		fmt.Fprintf(&b, "- **%s**: %s\n", l.id, l.words)
	}
	if used["–"] {
		if first {
			b.WriteString("\n")
		}
		b.WriteString("- **–**: no `make matrix` run has recorded this pair yet.\n")
	}
	return b.String()
}

// writeMatrix merges this run's outcomes into bench/results/matrix.md
// (every pair's time and outcome in full; pairs this run did not take keep
// their last outcome) and rewrites the README's table from it, judged by
// today's matrixLimits.
func writeMatrix(t *testing.T, sources []matrixSource, profiles []string, outcomes []matrixOutcome, wall time.Duration) {
	t.Helper()
	resultsPath := matrixResultsPath
	merged := map[string]matrixOutcome{}
	if b, err := os.ReadFile(resultsPath); err == nil {
		for _, o := range parseMatrixResults(string(b)) {
			merged[o.source+"→"+o.profile] = o
		}
	}
	for _, o := range outcomes {
		merged[o.source+"→"+o.profile] = o
	}
	var all []matrixOutcome
	for _, s := range sources {
		for _, p := range profiles {
			if o, ok := merged[s.id+"→"+p]; ok {
				all = append(all, o)
			}
		}
	}
	table := matrixTable(sources, profiles, all)
	readme := filepath.Join("..", "README.md")
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(b), matrixBegin)
	_, after, ok2 := strings.Cut(rest, matrixEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the matrix markers %q … %q", matrixBegin, matrixEnd)
	}
	if err := os.WriteFile(readme, []byte(before+matrixBegin+"\n"+table+matrixEnd+after), 0o644); err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Conformance matrix\n\nWritten by `make matrix` (e2e/matrix_test.go), last at %s UTC; %d of %d pairs recorded.",
		time.Now().UTC().Format("2006-01-02 15:04"), len(all), len(sources)*len(profiles))
	if wall > 0 {
		fmt.Fprintf(&md, " The last run took %d pairs in %s wall time.", len(outcomes), wall.Round(time.Second))
	}
	md.WriteString(" \"–\" is a pair no run has recorded yet.\n\n")
	md.WriteString(table)
	md.WriteString("\n" + matrixResultsHeader + "\n|---|---|---|---|---|\n")
	for _, o := range all {
		cell, _ := o.judge()
		text := strings.NewReplacer("|", "/", "\n", " ").Replace(o.text())
		fmt.Fprintf(&md, "| %s | %s | %.1f | %s | %s |\n", o.source, o.profile, o.seconds, cell, text)
	}
	if err := os.WriteFile(resultsPath, []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

var matrixResultsPath = filepath.Join("..", "bench", "results", "matrix.md")

const matrixResultsHeader = "| source | profile | seconds | cell | outcome |"

// parseMatrixResults reads back the pairs writeMatrix recorded.
func parseMatrixResults(md string) []matrixOutcome {
	_, rows, ok := strings.Cut(md, matrixResultsHeader)
	if !ok {
		return nil
	}
	var out []matrixOutcome
	for _, line := range strings.Split(rows, "\n") {
		cols := strings.Split(strings.Trim(line, "| "), " | ")
		if !strings.HasPrefix(line, "| ") || len(cols) != 5 {
			continue
		}
		o := matrixOutcome{source: cols[0], profile: cols[1]}
		o.seconds, _ = strconv.ParseFloat(cols[2], 64)
		if cols[4] != "ok" {
			o.problems = []string{cols[4]}
			o.quarantined = strings.Contains(cols[4], "(quarantined)")
		}
		out = append(out, o)
	}
	return out
}

// checkReadmeCells: the README's table says what this run found, for
// every pair it ran.
func checkReadmeCells(t *testing.T, sources []matrixSource, outcomes []matrixOutcome) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(b), matrixBegin)
	table, _, ok2 := strings.Cut(rest, matrixEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the matrix markers")
	}
	label := map[string]string{}
	for _, s := range sources {
		label[s.id] = s.label
	}
	var header []string
	rows := map[string][]string{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "| "), " | ")
		if header == nil {
			header = cols
			continue
		}
		rows[cols[0]] = cols
	}
	for _, o := range outcomes {
		cell, _ := o.judge()
		row, col := rows[label[o.source]], -1
		for i, h := range header {
			if h == o.profile {
				col = i
			}
		}
		if row == nil || col < 0 || col >= len(row) {
			t.Errorf("the README's matrix has no cell for %s → %s: run make matrix", o.source, o.profile)
			continue
		}
		if row[col] != cell {
			t.Errorf("the README's matrix says %q for %s → %s, this run found %q: run make matrix", row[col], o.source, o.profile, cell)
		}
	}
}

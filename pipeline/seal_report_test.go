package pipeline

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln/job"
	"kiln/staging"
)

// A job whose checks all pass gets its report, with timings, in staging and
// stays there for Publish; one with a failed check is never published: its
// outputs and report go to quarantine and the job fails naming the check
// and the folder.
func TestSealReport(t *testing.T) {
	for _, pass := range []bool{true, false} {
		root := t.TempDir()
		stage, err := staging.New(root, "clip", "pal", 3)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(stage.File("clip.ts"), []byte("ts"), 0o644)
		report := &job.Report{Checks: []job.Check{
			{Name: "raster", Expected: "720x576", Actual: "720x576", Pass: true},
			{Name: "field order", Expected: "tff", Actual: "bff", Pass: pass},
		}}
		quarantined, err := sealReport(stage, "clip", report, time.Now().Add(-2*time.Second), 50)

		if report.Timings.Frames != 50 || report.Timings.Seconds < 2 || report.Timings.EncodeFPS <= 0 || report.Timings.EncodeFPS > 25 {
			t.Errorf("pass=%v: timings %+v", pass, report.Timings)
		}
		if pass {
			if err != nil || quarantined {
				t.Fatalf("all checks pass: quarantined %v, %v", quarantined, err)
			}
			var back job.Report
			b, err := os.ReadFile(stage.File("clip.kiln.json"))
			if err != nil || json.Unmarshal(b, &back) != nil || back.Timings.Frames != 50 {
				t.Errorf("report in staging: %v %s", err, b)
			}
			continue
		}
		var pe *ProfileError
		if !errors.As(err, &pe) || !quarantined || !strings.Contains(pe.Reason, "field order") || !strings.Contains(pe.Reason, "quarantined in") {
			t.Fatalf("a failed check: quarantined %v, %v", quarantined, err)
		}
		where := filepath.Join(root, staging.QuarantineName, "clip", "pal-job3")
		for _, f := range []string{"clip.ts", "clip.kiln.json"} {
			if _, err := os.Stat(filepath.Join(where, f)); err != nil {
				t.Errorf("quarantine lacks %s: %v", f, err)
			}
		}
		if _, err := os.Stat(stage.Final); !os.IsNotExist(err) {
			t.Errorf("outputs that failed a check were published: %v", err)
		}
	}
}

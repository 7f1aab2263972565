package e2e

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kiln/job"
)

// The conformance matrix runs every example profile of the README on every
// source of matrixSources through `kilnd transcode` (the real pipeline,
// verification and publishing included). Each pair either publishes outputs
// that two independent decoders read from start to end, with the pictures
// the plan promised, or fails with a reason matrixLimits lists for it.
//
// go test runs a fixed diagonal (every source and every profile at least
// once); KILN_MATRIX=full (make matrix) runs every pair. -update-matrix
// merges the pairs a run took into bench/results/matrix.md and rewrites
// the README's table from it (-run 'TestConformanceMatrix/pairs/none'
// -update-matrix only re-judges the recorded pairs).

var updateMatrix = flag.Bool("update-matrix", false, "merge this run's pairs into bench/results/matrix.md and rewrite the README's matrix table from it")

// matrixDiagonal is what CI runs: every source once, every profile at
// least once, and the pairs issue 13 names (ProRes mezzanine of 1080i25
// ProRes; plain ABR of 1080p23.976 and 1080i25).
var matrixDiagonal = map[string][]string{
	"1080i25-h264":     {"pal-mpeg2-16x9", "web"},
	"1080i25-prores":   {"prores-mezz"},
	"1080i2997-bff":    {"ntsc-h264-43"},
	"1080p23976":       {"web"},
	"1080p25":          {"web-aes"},
	"1080p50":          {"pal-imx50"},
	"720p5994":         {"mezzanine"},
	"576i25-43":        {"secam-mxf"},
	"576i25-169":       {"pal-mpeg2-16x9"},
	"480i2997":         {"ntsc-h264-43"},
	"hdv-1440":         {"archive-ffv1"},
	"2160p25-hevc10":   {"h264-master"},
	"phone-vfr":        {"h264-master"},
	"odd-1918":         {"secam-mxf"},
	"odd-853":          {"web"},
	"opengop-bpyramid": {"pal-imx50"},
	"ts-wrap":          {"ntsc-h264-43"},
	"two-frames":       {"pal-mpeg2-16x9"},
}

// matrixLimit is a failure the matrix expects: a limitation Kiln keeps,
// stated in words in the README.
type matrixLimit struct {
	id       string
	sources  []string // nil: every source
	profiles []string // nil: every profile
	reason   string   // a regular expression a problem's text matches
	words    string   // the README's statement of it
}

var matrixLimits = []matrixLimit{
	{id: "L1", sources: []string{"phone-vfr"}, profiles: []string{"mezzanine"}, reason: `pictures, the plan`,
		words: "The phone clip's picture track ends at 1.967 s by its own container: the muxer wrote its last sample with the stream's nominal 1/30 s, not the 1/15 s the pictures before it last, 33 ms before the sound ends. Kiln times the last picture as the container says (one that gives it 1/15 s is followed: TestVariableRateSourceKeepsItsLastPicture), so the 50p output holds 98 pictures where the sound's 2.000 s would make 100. Holding the last picture to the end of the sound is not done."},
}

func (l matrixLimit) covers(source, profile string) bool {
	return (l.sources == nil || slices.Contains(l.sources, source)) && (l.profiles == nil || slices.Contains(l.profiles, profile))
}

// matrixOutcome is what one pair did.
type matrixOutcome struct {
	source, profile string
	problems        []string // the job's failure reason, or each failed check
	quarantined     bool
	seconds         float64
}

func (o matrixOutcome) text() string {
	if len(o.problems) == 0 {
		return "ok"
	}
	return strings.Join(o.problems, "; ")
}

// judge returns the README cell of an outcome ("ok", or the ids of the
// limits that explain every one of its problems) and what is wrong with it,
// if anything.
func (o matrixOutcome) judge() (cell, wrong string) {
	var covering []matrixLimit
	for _, l := range matrixLimits {
		if l.covers(o.source, o.profile) {
			covering = append(covering, l)
		}
	}
	if len(o.problems) == 0 {
		for _, l := range covering {
			if l.sources != nil && l.profiles != nil {
				return "ok", fmt.Sprintf("published and verified, but %s lists it as failing (%s): remove it from matrixLimits", l.id, l.reason)
			}
		}
		return "ok", ""
	}
	var ids []string
	for _, problem := range strings.Split(o.text(), "; ") {
		found := false
		for _, l := range covering {
			if regexp.MustCompile(l.reason).MatchString(problem) {
				if !slices.Contains(ids, l.id) {
					ids = append(ids, l.id)
				}
				found = true
				break
			}
		}
		if !found {
			return "FAIL", o.text()
		}
	}
	if o.quarantined {
		return "FAIL", "quarantined: " + o.text() + " (a quarantine is never an expected outcome)"
	}
	return strings.Join(ids, ", "), ""
}

func TestConformanceMatrix(t *testing.T) {
	// KILN_MATRIX=full runs every pair; =missing only the pairs
	// bench/results/matrix.md has no outcome for (to finish a full run
	// that was cut short).
	mode := os.Getenv("KILN_MATRIX")
	full := mode == "full" || mode == "missing"
	recorded := map[string]bool{}
	if mode == "missing" {
		if b, err := os.ReadFile(matrixResultsPath); err == nil {
			for _, o := range parseMatrixResults(string(b)) {
				recorded[o.source+"→"+o.profile] = true
			}
		}
	}
	profiles, profileText := readmeProfiles(t)
	sources := matrixSources()
	checkDiagonal(t, sources, profiles)

	root := t.TempDir()
	cfg := filepath.Join(root, "kiln.toml")
	head := fmt.Sprintf("[daemon]\nstate_dir = %q\nsocket = %q\n\n", filepath.Join(root, "state"), filepath.Join(root, "kiln.sock"))
	if err := os.WriteFile(cfg, []byte(head+profileText), 0o644); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	var (
		mu       sync.Mutex
		outcomes []matrixOutcome
	)
	// Pairs run -parallel at a time (GOMAXPROCS by default): a job's
	// single-threaded stretches (probe, verify, packaging, the decoders)
	// overlap another's encoding.
	t.Run("pairs", func(t *testing.T) {
		for _, s := range sources {
			for _, p := range profiles {
				if !full && !slices.Contains(matrixDiagonal[s.id], p) || recorded[s.id+"→"+p] {
					continue
				}
				t.Run(s.id+"→"+p, func(t *testing.T) {
					t.Parallel()
					o := runMatrixPair(t, cfg, s, p, filepath.Join(root, "out"))
					mu.Lock()
					outcomes = append(outcomes, o)
					if *updateMatrix {
						// Recorded as it comes, so a long run cut short keeps
						// what it did.
						writeMatrix(t, sources, profiles, []matrixOutcome{o}, 0)
					}
					mu.Unlock()
					cell, wrong := o.judge()
					t.Logf("%s → %s in %.1f s: %s [%s]", s.id, p, o.seconds, o.text(), cell)
					if wrong != "" {
						t.Error(wrong)
					}
				})
			}
		}
	})
	wall := time.Since(began)
	t.Logf("matrix (%s): %d pairs in %s", map[bool]string{true: "full", false: "diagonal"}[full], len(outcomes), wall.Round(time.Second))

	if *updateMatrix {
		writeMatrix(t, sources, profiles, outcomes, wall)
		return
	}
	checkReadmeCells(t, sources, outcomes)
}

// checkDiagonal: CI's subset still takes every source and every profile.
func checkDiagonal(t *testing.T, sources []matrixSource, profiles []string) {
	t.Helper()
	taken := map[string]bool{}
	for _, s := range sources {
		if len(matrixDiagonal[s.id]) == 0 {
			t.Errorf("the CI diagonal takes no profile for source %s", s.id)
		}
		for _, p := range matrixDiagonal[s.id] {
			if !slices.Contains(profiles, p) {
				t.Errorf("the CI diagonal names profile %s, which no README example defines", p)
			}
			taken[p] = true
		}
	}
	for _, p := range profiles {
		if !taken[p] {
			t.Errorf("the CI diagonal never runs the README's profile %s", p)
		}
	}
}

// readmeProfiles returns every [profile.NAME] table of the README's TOML
// blocks, in order, so the matrix follows the README.
func readmeProfiles(t *testing.T) (names []string, text string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	inBlock, inProfile := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```toml"):
			inBlock, inProfile = true, false
			continue
		case inBlock && strings.HasPrefix(trim, "```"):
			inBlock, inProfile = false, false
			continue
		case !inBlock:
			continue
		case strings.HasPrefix(trim, "["):
			inProfile = false
			if rest, ok := strings.CutPrefix(trim, "[profile."); ok {
				name, _, _ := strings.Cut(rest, "]")
				if slices.Contains(names, name) {
					t.Fatalf("README defines profile %s twice", name)
				}
				names = append(names, name)
				inProfile = true
				b.WriteString("\n")
			}
		}
		if inProfile {
			b.WriteString(trim + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no [profile.*] in the README's TOML blocks")
	}
	return names, b.String()
}

var quarantinePathRE = regexp.MustCompile(`\(quarantined in [^)]*\)`)

// runMatrixPair runs one source through one profile and checks what it
// published.
func runMatrixPair(t *testing.T, cfg string, s matrixSource, profile, outRoot string) matrixOutcome {
	src := matrixSourceFile(t, s)
	o := matrixOutcome{source: s.id, profile: profile}
	out := filepath.Join(outRoot, s.id, profile)
	defer os.RemoveAll(out)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	began := time.Now()
	b, err := exec.CommandContext(ctx, kilndBin, "transcode", "--config", cfg, "--profile", profile, src, out).CombinedOutput()
	o.seconds = time.Since(began).Seconds()
	if err != nil {
		reason := strings.TrimSpace(string(b))
		if i := strings.LastIndex(reason, " failed: "); i >= 0 {
			reason = reason[i+len(" failed: "):]
		}
		o.quarantined = strings.Contains(reason, "quarantined in")
		// The quarantine's temporary path would make every run's text differ.
		o.problems = []string{quarantinePathRE.ReplaceAllString(reason, "(quarantined)")}
		return o
	}
	report := readReport(t, filepath.Join(out, s.id, profile, s.id+".kiln.json"))
	for _, c := range report.Checks {
		if !c.Pass {
			o.problems = append(o.problems, fmt.Sprintf("published with a failed check %s (expected %s, got %s)", c.Name, c.Expected, c.Actual))
		}
	}
	if report.ABR != nil {
		o.problems = append(o.problems, checkABRTimelines(t, s, report, filepath.Join(out, s.id, profile))...)
	} else {
		o.problems = append(o.problems, checkFileOutputs(s, report)...)
	}
	return o
}

// checkFileOutputs decodes every published media file with libavcodec and
// with GStreamer and compares the picture counts with the plan: the
// source's duration at the output's frame rate.
func checkFileOutputs(s matrixSource, report job.Report) []string {
	var problems []string
	for _, out := range report.Outputs {
		v := out.Probe.VideoStreams()
		if len(v) == 0 {
			continue
		}
		want := s.seconds() * rateOf(v[0].FrameRate)
		ff, err := ffmpegPictures(out.Path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: libavcodec: %v", out.Name, err))
		}
		gst, err := gstPictures(out.Path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: GStreamer: %v", out.Name, err))
		}
		if len(ff) != len(gst) {
			problems = append(problems, fmt.Sprintf("%s: libavcodec decodes %d pictures, GStreamer %d", out.Name, len(ff), len(gst)))
		}
		if math.Abs(float64(len(ff))-want) > 1 {
			problems = append(problems, fmt.Sprintf("%s: %d pictures, the plan %.0f (%.3f s at %s)", out.Name, len(ff), want, s.seconds(), v[0].FrameRate))
		}
	}
	return problems
}

func rateOf(r string) float64 {
	n, d := ratio(r)
	if d == 0 {
		return 0
	}
	return n / d
}

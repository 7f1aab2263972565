package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"kiln/api"
)

// isTerminal reports whether w is a terminal, where progress bars redraw
// in place; elsewhere (a pipe, a log) each update is a line of its own.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalSize returns a function that asks the terminal behind w for its
// columns and rows, each time it is called, so that a resized window is
// drawn at its new size. Anything that is not a terminal has no limit (0).
func terminalSize(w io.Writer) func() (int, int) {
	return func() (int, int) {
		f, ok := w.(*os.File)
		if !ok {
			return 0, 0
		}
		cols, rows, err := term.GetSize(int(f.Fd()))
		if err != nil || cols <= 0 {
			return 0, 0
		}
		return cols, rows
	}
}

// lineCols is how much of a terminal line a redrawn line may use: one column
// less than the width, because a character in the last column makes many
// terminals wrap at once, and the next \r then returns to the wrong line.
func lineCols(cols int) int {
	if cols <= 0 {
		return 0
	}
	return max(cols-1, 1)
}

// progressBar draws one job's progress: in place on a terminal, cut to its
// width, else as a line each time the job moves on by a tenth or changes
// state.
type progressBar struct {
	out       io.Writer
	tty       bool
	size      func() (int, int)
	drawn     bool
	lastState string
	lastTenth int
}

func (c *cli) newBar() *progressBar {
	return &progressBar{out: c.out, tty: c.tty, size: c.size, lastTenth: -1}
}

func (p *progressBar) draw(j api.Job) {
	if p.tty {
		cols, _ := p.size()
		// \r returns to the line's start and ESC[K clears what a longer
		// previous line left behind.
		fmt.Fprintf(p.out, "\r\x1b[K%s", progressLine(j, lineCols(cols)))
		p.drawn = true
		return
	}
	tenth := int(j.Progress.Fraction * 10)
	if j.State != p.lastState || tenth != p.lastTenth {
		fmt.Fprintln(p.out, progressLine(j, 0))
		p.lastState, p.lastTenth = j.State, tenth
	}
}

// end finishes the line the bar is on, so that what follows starts on a
// line of its own.
func (p *progressBar) end() {
	if p.drawn {
		fmt.Fprintln(p.out)
		p.drawn = false
	}
}

const (
	profileCols = 16
	sourceCols  = 16
	maxBarCols  = 30
	minBarCols  = 10
)

// progressLine draws
// "   12 pal-mpeg2        clip.mxf         [#####.....]  55%    48.2 fps  ETA 12s"
// in at most cols terminal columns (0: no limit). A narrow terminal gets a
// shorter bar first, then the line is cut. The source's name, the profile and
// the reason are escaped: anyone who can drop a file names it.
func progressLine(j api.Job, cols int) string {
	f := min(max(j.Progress.Fraction, 0), 1)
	if j.State == "done" {
		f = 1
	}
	profile := runewidth.FillRight(fitWidth(termSafe(j.Profile), profileCols), profileCols)
	source := runewidth.FillRight(fitWidth(termSafe(filepath.Base(j.Source)), sourceCols), sourceCols)
	head := fmt.Sprintf("%5d %s %s ", j.ID, profile, source)
	var tail string
	switch j.State {
	case "running":
		tail = fmt.Sprintf(" %3.0f%%  %6.1f fps  ETA %s", f*100, j.Progress.FPS, eta(j.Progress.ETA))
	default:
		tail = fmt.Sprintf(" %3.0f%%  %s", f*100, termSafe(j.State))
		if j.Reason != "" {
			tail += ": " + termSafe(j.Reason)
		}
	}
	barCols := maxBarCols
	if cols > 0 {
		// The bar gives way to the fixed fields; a long reason is cut instead.
		fixed := runewidth.StringWidth(head) + 2 + runewidth.StringWidth(strings.SplitN(tail, ": ", 2)[0])
		barCols = min(max(cols-fixed, minBarCols), maxBarCols)
	}
	n := int(f * float64(barCols))
	bar := "[" + strings.Repeat("#", n) + strings.Repeat(".", barCols-n) + "]"
	return fitWidth(head+bar+tail, cols)
}

// watchFrame is what watch draws once: a line per running job, each within
// cols columns, and on a terminal of rows rows no more lines than fit, so
// that the cursor can move back over the whole frame to redraw it.
func watchFrame(jobs []api.Job, cols, rows int) string {
	var frame strings.Builder
	if len(jobs) == 0 {
		frame.WriteString(fitWidth("no running jobs", cols) + "\n")
	}
	shown := len(jobs)
	if rows > 1 && shown > rows-1 {
		shown = max(rows-2, 0)
	}
	for _, j := range jobs[:shown] {
		frame.WriteString(progressLine(j, cols) + "\n")
	}
	if shown < len(jobs) {
		frame.WriteString(fitWidth(fmt.Sprintf("… and %d more running (kiln jobs --state running)", len(jobs)-shown), cols) + "\n")
	}
	return frame.String()
}

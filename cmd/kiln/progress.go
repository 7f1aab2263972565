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
	nameCols   = 16 // the most the profile and the source's name each get
	minNameCol = 4  // a name column narrower than this is left out
	maxBarCols = 30
	minBarCols = 10
)

// progressLine draws
// "   12 pal-mpeg2        clip.mxf         [#####.....]  55%    48.2 fps  ETA 12s"
// in at most cols terminal columns (0: no limit). The id, the percentage,
// fps and ETA always have room; then a bar of 10; then the profile, then the
// source's name; then the bar grows to 30. A failed job's reason comes last
// and is cut. The source's name, the profile and the reason are escaped:
// anyone who can drop a file names it.
func progressLine(j api.Job, cols int) string {
	f := min(max(j.Progress.Fraction, 0), 1)
	if j.State == "done" {
		f = 1
	}
	var tail, reason string
	switch j.State {
	case "running":
		tail = fmt.Sprintf(" %3.0f%%  %6.1f fps  ETA %s", f*100, j.Progress.FPS, eta(j.Progress.ETA))
	default:
		tail = fmt.Sprintf(" %3.0f%%  %s", f*100, termSafe(j.State))
		if j.Reason != "" {
			reason = ": " + termSafe(j.Reason)
		}
	}
	id := fmt.Sprintf("%5d ", j.ID)
	profileW, sourceW, barW := nameCols, nameCols, maxBarCols
	if cols > 0 {
		rest := cols - runewidth.StringWidth(id) - 2 - runewidth.StringWidth(tail)
		barW = min(max(rest, 1), minBarCols)
		rest -= barW
		take := func() int { // a name column and the space after it
			if rest-1 < minNameCol {
				return 0
			}
			w := min(rest-1, nameCols)
			rest -= w + 1
			return w
		}
		profileW = take()
		sourceW = take()
		barW += min(max(rest, 0), maxBarCols-barW)
	}
	line := id
	if profileW > 0 {
		line += runewidth.FillRight(fitWidth(termSafe(j.Profile), profileW), profileW) + " "
	}
	if sourceW > 0 {
		line += runewidth.FillRight(fitWidth(termSafe(filepath.Base(j.Source)), sourceW), sourceW) + " "
	}
	n := int(f * float64(barW))
	line += "[" + strings.Repeat("#", n) + strings.Repeat(".", barW-n) + "]" + tail + reason
	return fitWidth(line, cols)
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

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"kiln/api"
)

const usage = `usage: kiln [--socket PATH] [--json] COMMAND [ARGS]

commands:
  submit FILE --profile P [--priority high|normal|low] [--output DIR] [--wait]
  jobs [--state queued|running|done|failed|cancelled]
  show ID
  cancel ID
  priority ID high|normal|low
  watch [--until-idle]        live progress of running jobs; --until-idle
                              returns once nothing is queued or running
  profiles
  health

The socket is --socket, or $KILN_SOCKET, or /run/kiln/kiln.sock.
`

// run parses global flags, then runs one command, and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kiln", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	socket := fs.String("socket", defaultSocket(), "daemon socket `PATH`")
	asJSON := fs.Bool("json", false, "print the daemon's JSON answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	c := &cli{api: newClient(*socket), out: stdout, json: *asJSON}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	// Flags may also follow the command: `kiln jobs --json`.
	rest, c.json = stripFlag(rest, "--json", c.json)
	var err error
	switch cmd {
	case "submit":
		err = c.submit(ctx, rest)
	case "jobs":
		err = c.jobs(ctx, rest)
	case "show":
		err = c.show(ctx, rest)
	case "cancel":
		err = c.cancel(ctx, rest)
	case "priority":
		err = c.priority(ctx, rest)
	case "watch":
		var untilIdle bool
		rest, untilIdle = stripFlag(rest, "--until-idle", false)
		if len(rest) > 0 {
			err = errUsage
			break
		}
		err = c.watch(ctx, untilIdle)
	case "profiles":
		err = c.simple(ctx, "/v1/profiles", c.printProfiles)
	case "health":
		err = c.simple(ctx, "/v1/health", c.printHealth)
	default:
		fmt.Fprintf(stderr, "kiln: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, errUsage) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "kiln:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func defaultSocket() string {
	if s := os.Getenv("KILN_SOCKET"); s != "" {
		return s
	}
	return "/run/kiln/kiln.sock"
}

func stripFlag(args []string, name string, v bool) ([]string, bool) {
	var out []string
	for _, a := range args {
		if a == name || a == name+"=true" {
			v = true
			continue
		}
		out = append(out, a)
	}
	return out, v
}

// cli holds what every command needs.
type cli struct {
	api  *client
	out  io.Writer
	json bool
}

func (c *cli) emitJSON(raw []byte) {
	c.out.Write(raw)
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		fmt.Fprintln(c.out)
	}
}

func (c *cli) submit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	profile := fs.String("profile", "", "")
	priority := fs.String("priority", "", "")
	output := fs.String("output", "", "")
	wait := fs.Bool("wait", false, "")
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" || *profile == "" {
		return errUsage
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if *output != "" {
		if *output, err = filepath.Abs(*output); err != nil {
			return err
		}
	}
	var created api.Created
	raw, err := c.api.call(ctx, "POST", "/v1/jobs", api.SubmitRequest{Source: abs, Profile: *profile, Priority: *priority, Output: *output}, &created)
	if err != nil {
		return err
	}
	if !*wait {
		if c.json {
			c.emitJSON(raw)
		} else {
			fmt.Fprintf(c.out, "job %d queued\n", created.ID)
		}
		return nil
	}
	j, err := c.follow(ctx, created.ID)
	if err != nil {
		return err
	}
	if j.State != "done" {
		return fmt.Errorf("job %d %s: %s", j.ID, j.State, j.Reason)
	}
	return nil
}

// follow shows one job's progress bar until it finishes.
func (c *cli) follow(ctx context.Context, id int64) (api.Job, error) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		var j api.Job
		raw, err := c.api.call(ctx, "GET", fmt.Sprintf("/v1/jobs/%d", id), nil, &j)
		if err != nil {
			return j, err
		}
		finished := j.State == "done" || j.State == "failed" || j.State == "cancelled"
		if c.json {
			if finished {
				c.emitJSON(raw)
			}
		} else {
			fmt.Fprintf(c.out, "\r%s", progressLine(j))
			if finished {
				fmt.Fprintln(c.out)
				if j.State == "done" {
					fmt.Fprintf(c.out, "outputs in %s\n", j.Output)
				}
			}
		}
		if finished {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-tick.C:
		}
	}
}

func (c *cli) jobs(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	state := fs.String("state", "", "")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	path := "/v1/jobs"
	if *state != "" {
		path += "?state=" + *state
	}
	var jobs []api.Job
	raw, err := c.api.call(ctx, "GET", path, nil, &jobs)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPRIORITY\tPROFILE\tPROGRESS\tSOURCE\tREASON")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%3.0f%%\t%s\t%s\n", j.ID, j.State, j.Priority, j.Profile,
			j.Progress.Fraction*100, filepath.Base(j.Source), j.Reason)
	}
	return tw.Flush()
}

func (c *cli) show(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errUsage
	}
	var j api.Job
	raw, err := c.api.call(ctx, "GET", "/v1/jobs/"+args[0], nil, &j)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%d\nsource\t%s\nprofile\t%s\nstate\t%s\npriority\t%s\nattempts\t%d\noutput\t%s\n",
		j.ID, j.Source, j.Profile, j.State, j.Priority, j.Attempts, j.Output)
	if j.Reason != "" {
		fmt.Fprintf(tw, "reason\t%s\n", j.Reason)
	}
	if j.State == "running" {
		fmt.Fprintf(tw, "progress\t%s\n", progressLine(j))
	}
	tw.Flush()
	if len(j.Report) > 0 {
		fmt.Fprintf(c.out, "report:\n%s\n", indent(string(j.Report)))
	}
	return nil
}

func (c *cli) cancel(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errUsage
	}
	var j api.Job
	raw, err := c.api.call(ctx, "POST", "/v1/jobs/"+args[0]+"/cancel", nil, &j)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
	} else {
		fmt.Fprintf(c.out, "job %d %s\n", j.ID, j.State)
	}
	return nil
}

func (c *cli) priority(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return errUsage
	}
	var j api.Job
	raw, err := c.api.call(ctx, "PATCH", "/v1/jobs/"+args[0], api.PatchJob{Priority: args[1]}, &j)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
	} else {
		fmt.Fprintf(c.out, "job %d priority %s\n", j.ID, j.Priority)
	}
	return nil
}

// watch redraws the running jobs' progress bars until interrupted or, with
// untilIdle, until nothing is queued or running.
func (c *cli) watch(ctx context.Context, untilIdle bool) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lines := 0
	for {
		var jobs []api.Job
		raw, err := c.api.call(ctx, "GET", "/v1/jobs?state=running", nil, &jobs)
		if err != nil {
			return err
		}
		if c.json {
			c.emitJSON(raw)
		} else {
			// Move the cursor back over the previous frame and redraw.
			if lines > 0 {
				fmt.Fprintf(c.out, "\x1b[%dA\x1b[J", lines)
			}
			sort.Slice(jobs, func(i, k int) bool { return jobs[i].ID < jobs[k].ID })
			lines = 0
			if len(jobs) == 0 {
				fmt.Fprintln(c.out, "no running jobs")
				lines = 1
			}
			for _, j := range jobs {
				fmt.Fprintln(c.out, progressLine(j))
				lines++
			}
		}
		if untilIdle && len(jobs) == 0 {
			var h api.Health
			if _, err := c.api.call(ctx, "GET", "/v1/health", nil, &h); err != nil {
				return err
			}
			if h.QueueDepth == 0 && h.Running == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (c *cli) simple(ctx context.Context, path string, print func([]byte) error) error {
	raw, err := c.api.call(ctx, "GET", path, nil, nil)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
		return nil
	}
	return print(raw)
}

func (c *cli) printHealth(raw []byte) error {
	var h api.Health
	if err := decode(raw, &h); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "status   %s\nversion  %s\nuptime   %s\nqueued   %d\nrunning  %d\n",
		h.Status, h.Version, (time.Duration(h.Uptime) * time.Second).String(), h.QueueDepth, h.Running)
	if h.ReloadError != "" {
		fmt.Fprintf(c.out, "reload   rejected: %s\n", h.ReloadError)
	}
	return nil
}

func (c *cli) printProfiles(raw []byte) error {
	var profiles map[string]struct {
		Kind      string `json:"Kind"`
		Standard  string `json:"Standard"`
		Codec     string `json:"Codec"`
		Container string `json:"Container"`
	}
	if err := decode(raw, &profiles); err != nil {
		return err
	}
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tKIND\tSTANDARD\tCODEC\tCONTAINER")
	for _, n := range names {
		p := profiles[n]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n, p.Kind, p.Standard, p.Codec, p.Container)
	}
	return tw.Flush()
}

// progressLine draws "  12 pal-mpeg2  [#########.......]  55% 48.2 fps ETA 12s".
func progressLine(j api.Job) string {
	const width = 30
	f := j.Progress.Fraction
	if j.State == "done" {
		f = 1
	}
	n := int(f * width)
	bar := strings.Repeat("#", n) + strings.Repeat(".", width-n)
	line := fmt.Sprintf("%5d %-18s [%s] %3.0f%%", j.ID, trim(j.Profile, 18), bar, f*100)
	switch j.State {
	case "running":
		line += fmt.Sprintf("  %6.1f fps  ETA %s", j.Progress.FPS, (time.Duration(j.Progress.ETA) * time.Second).String())
	default:
		line += "  " + j.State
		if j.Reason != "" {
			line += ": " + j.Reason
		}
	}
	return line
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ")
}

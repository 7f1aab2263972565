package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
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
                              queue a job; --wait shows its progress bar and
                              returns once it has finished (exit 1 unless done)
  jobs [--state queued|running|done|failed|cancelled]
  show ID                     one job, with its report once finished
  cancel ID
  priority ID high|normal|low move a queued job
  watch [--until-idle]        live progress of running jobs; --until-idle
                              returns once nothing is queued or running
  profiles                    the profiles in force
  watches                     the watch folders in force
  hardware                    GPUs, CUDA, NVENC and NVDEC, and why not
  nodes                       the appliances sharing the job store, their
                              hardware and load; down ones lost their lease
  health                      status, version, uptime, queue
  reload                      re-read the config, as SIGHUP does, and say
                              whether it was taken

Every command takes --json, before or after its name, and then prints the
daemon's JSON answer (watch: one array per line; submit --wait: the
finished job).

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
	c := &cli{api: newClient(*socket), out: stdout, json: *asJSON, tty: isTerminal(stdout)}
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
		err = c.simple(ctx, rest, "/v1/profiles", c.printProfiles)
	case "watches":
		err = c.simple(ctx, rest, "/v1/watches", c.printWatches)
	case "hardware":
		err = c.simple(ctx, rest, "/v1/hardware", c.printHardware)
	case "nodes":
		err = c.simple(ctx, rest, "/v1/nodes", c.printNodes)
	case "health":
		err = c.simple(ctx, rest, "/v1/health", c.printHealth)
	case "reload":
		err = c.reload(ctx, rest)
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
	tty  bool // out is a terminal: progress redraws in place
}

// isTerminal reports whether w is a terminal, where progress bars redraw
// in place; elsewhere (a pipe, a log) each update is a line of its own.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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

// follow shows one job's progress bar, from the daemon's event stream,
// until the job finishes, and returns the finished job.
func (c *cli) follow(ctx context.Context, id int64) (api.Job, error) {
	var final api.Job
	finished := false
	bar := &progressBar{out: c.out, tty: c.tty}
	err := c.api.events(ctx, id, func(event string, j api.Job) {
		if event == api.EventEnd {
			final, finished = j, true
		}
		if !c.json {
			bar.draw(j)
		}
	})
	if err != nil {
		return final, err
	}
	if !finished {
		return final, fmt.Errorf("kilnd ended the event stream of job %d before it finished", id)
	}
	if c.json {
		b, _ := json.MarshalIndent(final, "", "  ")
		c.emitJSON(b)
		return final, nil
	}
	bar.end()
	if final.State == "done" {
		fmt.Fprintf(c.out, "outputs in %s\n", final.Output)
	}
	return final, nil
}

// progressBar draws one job's progress: in place on a terminal, else as a
// line each time the job moves on by a tenth or changes state.
type progressBar struct {
	out       io.Writer
	tty       bool
	drawn     bool
	lastState string
	lastTenth int
}

func (p *progressBar) draw(j api.Job) {
	if p.tty {
		fmt.Fprintf(p.out, "\r\x1b[K%s", progressLine(j))
		p.drawn = true
		return
	}
	tenth := int(j.Progress.Fraction * 10)
	if j.State != p.lastState || tenth != p.lastTenth {
		fmt.Fprintln(p.out, progressLine(j))
		p.lastState, p.lastTenth = j.State, tenth
	}
}

func (p *progressBar) end() {
	if p.drawn {
		fmt.Fprintln(p.out)
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
		path += "?state=" + url.QueryEscape(*state)
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
	fmt.Fprintln(tw, "ID\tSTATE\tPRIORITY\tPROFILE\tPROGRESS\tNODE\tSOURCE\tREASON")
	for _, j := range jobs {
		node := j.Node
		if node == "" {
			node = "-" // not claimed yet
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%3.0f%%\t%s\t%s\t%s\n", j.ID, j.State, j.Priority, j.Profile,
			j.Progress.Fraction*100, node, filepath.Base(j.Source), j.Reason)
	}
	return tw.Flush()
}

func (c *cli) show(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errUsage
	}
	var j api.Job
	raw, err := c.api.call(ctx, "GET", "/v1/jobs/"+url.PathEscape(args[0]), nil, &j)
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
	if j.Node != "" {
		fmt.Fprintf(tw, "node\t%s\n", j.Node)
	}
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
	return c.jobAction(ctx, "POST", "/v1/jobs/"+url.PathEscape(args[0])+"/cancel", nil,
		func(j api.Job) string { return fmt.Sprintf("job %d %s", j.ID, j.State) })
}

func (c *cli) priority(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return errUsage
	}
	return c.jobAction(ctx, "PATCH", "/v1/jobs/"+url.PathEscape(args[0]), api.PatchJob{Priority: args[1]},
		func(j api.Job) string { return fmt.Sprintf("job %d priority %s", j.ID, j.Priority) })
}

// jobAction sends a request that answers with a job, and prints the answer:
// the JSON as it came, or one line about the job.
func (c *cli) jobAction(ctx context.Context, method, path string, body any, line func(api.Job) string) error {
	var j api.Job
	raw, err := c.api.call(ctx, method, path, body, &j)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
	} else {
		fmt.Fprintln(c.out, line(j))
	}
	return nil
}

// watch redraws the running jobs' progress bars until interrupted or, with
// untilIdle, until nothing is queued or running. On a terminal it redraws in
// place; elsewhere it prints the bars again whenever they changed.
func (c *cli) watch(ctx context.Context, untilIdle bool) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lines := 0
	last := ""
	for {
		var jobs []api.Job
		raw, err := c.api.call(ctx, "GET", "/v1/jobs?state=running", nil, &jobs)
		if err != nil {
			return err
		}
		if c.json {
			c.emitJSON(compactJSON(raw))
		} else {
			sort.Slice(jobs, func(i, k int) bool { return jobs[i].ID < jobs[k].ID })
			var frame strings.Builder
			if len(jobs) == 0 {
				frame.WriteString("no running jobs\n")
			}
			for _, j := range jobs {
				frame.WriteString(progressLine(j) + "\n")
			}
			switch {
			case c.tty:
				// Move the cursor back over the previous frame and redraw.
				if lines > 0 {
					fmt.Fprintf(c.out, "\x1b[%dA\x1b[J", lines)
				}
				fmt.Fprint(c.out, frame.String())
				lines = strings.Count(frame.String(), "\n")
			case frame.String() != last:
				fmt.Fprint(c.out, frame.String())
			}
			last = frame.String()
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

// compactJSON puts an answer on one line, for JSON-lines output.
func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

func (c *cli) reload(ctx context.Context, args []string) error {
	if len(args) != 0 {
		return errUsage
	}
	var r api.Reloaded
	raw, err := c.api.call(ctx, "POST", "/v1/reload", nil, &r)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
		return nil
	}
	fmt.Fprintf(c.out, "config reloaded from %s: %d watch folders, %d profiles\n", r.Config, r.Watches, r.Profiles)
	return nil
}

func (c *cli) simple(ctx context.Context, args []string, path string, print func([]byte) error) error {
	if len(args) != 0 {
		return errUsage
	}
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

func (c *cli) printNodes(raw []byte) error {
	var nodes []api.Node
	if err := decode(raw, &nodes); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tRUNNING\tSLOTS\tGPU\tNVENC\tLAST HEARTBEAT\tVERSION\tHOST")
	for _, n := range nodes {
		name, state := n.Name, "up"
		if n.Self {
			name += " (this)"
		}
		if !n.Up {
			state = "down"
		}
		gpu, nvenc := "-", "-"
		if h := n.Hardware; h != nil {
			if len(h.GPUs) > 0 {
				gpu = fmt.Sprintf("%d× %s", len(h.GPUs), h.GPUs[0].Name)
			}
			var codecs []string
			for codec, cp := range h.NVENC {
				if cp.Available {
					codecs = append(codecs, codec)
				}
			}
			if len(codecs) > 0 {
				sort.Strings(codecs)
				nvenc = strings.Join(codecs, ",")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d (%d gpu)\t%d (%d gpu)\t%s\t%s\t%s ago\t%s\t%s\n", name, state,
			n.Running, n.RunningGPU, n.Slots, n.GPUSlots, gpu, nvenc,
			time.Since(n.HeartbeatAt).Round(time.Second), n.Version, n.Host)
	}
	return tw.Flush()
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
		Kind         string   `json:"kind"`
		Standard     string   `json:"standard"`
		Codec        string   `json:"codec"`
		Container    string   `json:"container"`
		Formats      []string `json:"formats"`
		VideoBitrate string   `json:"video_bitrate"`
		Priority     string   `json:"priority"`
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
	fmt.Fprintln(tw, "PROFILE\tKIND\tSTANDARD\tCODEC\tCONTAINER\tVIDEO\tPRIORITY")
	for _, n := range names {
		p := profiles[n]
		container := p.Container
		if p.Kind == "abr" {
			container = strings.Join(p.Formats, "+")
		}
		video := p.VideoBitrate
		if video == "0" { // prores and ffv1 are quality-based
			video = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, p.Kind, dash(p.Standard), dash(p.Codec), dash(container),
			dash(video), p.Priority)
	}
	return tw.Flush()
}

func (c *cli) printWatches(raw []byte) error {
	var watches []struct {
		Name     string   `json:"name"`
		Inbox    string   `json:"inbox"`
		Output   string   `json:"output"`
		Profiles []string `json:"profiles"`
		Priority string   `json:"priority"`
		Settle   string   `json:"settle"`
	}
	if err := decode(raw, &watches); err != nil {
		return err
	}
	if len(watches) == 0 {
		fmt.Fprintln(c.out, "no watch folders")
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WATCH\tINBOX\tOUTPUT\tPROFILES\tPRIORITY\tSETTLE")
	for _, w := range watches {
		prio := w.Priority
		if prio == "" {
			prio = "(profile's)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", w.Name, w.Inbox, w.Output, strings.Join(w.Profiles, ","), prio, w.Settle)
	}
	return tw.Flush()
}

func (c *cli) printHardware(raw []byte) error {
	var h api.Hardware
	if err := decode(raw, &h); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "backend\t%s\n", h.Backend)
	fmt.Fprintf(tw, "cuda\t%s\n", capability(h.CUDA))
	codecs := make([]string, 0, len(h.NVENC))
	for codec := range h.NVENC {
		codecs = append(codecs, codec)
	}
	sort.Strings(codecs)
	for _, codec := range codecs {
		fmt.Fprintf(tw, "nvenc %s\t%s\n", codec, capability(h.NVENC[codec]))
	}
	fmt.Fprintf(tw, "nvdec\t%s\n", capability(h.NVDEC))
	fmt.Fprintf(tw, "nvenc sessions\t%d in use of %d (%s)\n", h.NVENCSessions, h.NVENCSessionLimit, h.NVENCSessionLimitReason)
	if len(h.GPUs) == 0 {
		fmt.Fprintf(tw, "gpus\tnone\n")
	}
	for _, g := range h.GPUs {
		fmt.Fprintf(tw, "gpu %d\t%s, compute %s, %.1f GiB\n", g.Index, g.Name, g.ComputeCapability, float64(g.MemoryBytes)/(1<<30))
	}
	fmt.Fprintf(tw, "probed\t%s\n", h.ProbedAt.Local().Format(time.DateTime))
	return tw.Flush()
}

func capability(c api.Capability) string {
	if c.Available {
		return "yes"
	}
	if c.Reason == "" {
		return "no"
	}
	return "no: " + c.Reason
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// progressLine draws "   12 pal-mpeg2  [#########.......]  55%   48.2 fps  ETA 12s".
func progressLine(j api.Job) string {
	const width = 30
	f := min(max(j.Progress.Fraction, 0), 1)
	if j.State == "done" {
		f = 1
	}
	n := int(f * width)
	bar := strings.Repeat("#", n) + strings.Repeat(".", width-n)
	line := fmt.Sprintf("%5d %-18s [%s] %3.0f%%", j.ID, trim(j.Profile, 18), bar, f*100)
	switch j.State {
	case "running":
		line += fmt.Sprintf("  %6.1f fps  ETA %s", j.Progress.FPS, eta(j.Progress.ETA))
	default:
		line += "  " + j.State
		if j.Reason != "" {
			line += ": " + j.Reason
		}
	}
	return line
}

// eta writes seconds as "1m5s", or "--" before there is an estimate.
func eta(seconds float64) string {
	switch {
	case seconds <= 0:
		return "--"
	case seconds < 1:
		return "<1s"
	}
	return time.Duration(seconds * float64(time.Second)).Round(time.Second).String()
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

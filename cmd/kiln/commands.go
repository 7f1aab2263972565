package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"kiln/api"
)

var (
	priorities = []string{"high", "normal", "low"}
	jobStates  = []string{"queued", "running", "done", "failed", "cancelled"}
)

func (c *cli) submitCmd() *cobra.Command {
	var profile, priority, output string
	var wait bool
	cmd := &cobra.Command{
		Use:   "submit FILE --profile P",
		Short: "queue a job for a file",
		Long: `submit queues a job that encodes FILE with profile P. FILE must lie under one
of kilnd's submit_roots. The outputs go to <output>/<name>/<profile>/, where
output is --output or kilnd's default (<state_dir>/out).

With --wait, submit shows the job's progress bar and returns once it has
finished: exit 0 when done, 4 when failed or cancelled. If kilnd restarts
meanwhile, submit says so once, reconnects and follows the same job.`,
		Example: `  kiln submit clip.mxf --profile pal-mpeg2-16x9
  kiln submit clip.mxf --profile web --priority high --wait
  kiln submit clip.mxf --profile mezz --output /srv/kiln/out/mezz --json`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if profile == "" {
				return usagef("submit needs --profile (kiln profiles lists them)")
			}
			return c.submit(cmd.Context(), args[0], profile, priority, output, wait)
		}),
	}
	cmd.Flags().StringVarP(&profile, "profile", "p", "", "the profile `P` to encode with (required)")
	cmd.Flags().StringVar(&priority, "priority", "", "high, normal or low (default: the profile's)")
	cmd.Flags().StringVar(&output, "output", "", "output root `DIR` (default: kilnd's)")
	cmd.Flags().BoolVar(&wait, "wait", false, "show progress and return once the job has finished")
	cmd.RegisterFlagCompletionFunc("profile", c.completeProfiles)
	cmd.RegisterFlagCompletionFunc("priority", cobra.FixedCompletions(priorities, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	})
	return cmd
}

func (c *cli) submit(ctx context.Context, file, profile, priority, output string, wait bool) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if output != "" {
		if output, err = filepath.Abs(output); err != nil {
			return err
		}
	}
	var created api.Created
	raw, err := c.api.call(ctx, "POST", "/v1/jobs", api.SubmitRequest{Source: abs, Profile: profile, Priority: priority, Output: output}, &created)
	if err != nil {
		return err
	}
	if !wait {
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
		return &jobFailedError{fmt.Sprintf("job %d %s: %s", j.ID, j.State, termSafe(j.Reason))}
	}
	return nil
}

func (c *cli) jobsCmd() *cobra.Command {
	var state, watch string
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "list jobs",
		Long: `jobs lists the jobs in the store, newest first: all of them, or those in one
state, or those of one watch folder. In fleet mode it lists every node's jobs.
File names and reasons are printed Go-quoted ("a\x1b[31m.mxf") when they hold
control characters, so that a file name cannot drive the terminal.`,
		Example: `  kiln jobs
  kiln jobs --state failed
  kiln jobs --watch news --state running
  kiln jobs --json | jq '.[].state'`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return c.jobs(cmd.Context(), state, watch)
		}),
	}
	cmd.Flags().StringVar(&state, "state", "", "only jobs in state `S`: "+strings.Join(jobStates, ", "))
	cmd.Flags().StringVar(&watch, "watch", "", "only jobs from the watch folder `W`")
	cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(jobStates, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("watch", c.completeWatches)
	return cmd
}

func (c *cli) jobs(ctx context.Context, state, watch string) error {
	path := "/v1/jobs"
	if state != "" {
		path += "?state=" + url.QueryEscape(state)
	}
	var jobs []api.Job
	raw, err := c.api.call(ctx, "GET", path, nil, &jobs)
	if err != nil {
		return err
	}
	if watch != "" {
		// The API has no watch filter; the list is small enough to sift here.
		jobs = slices.DeleteFunc(jobs, func(j api.Job) bool { return j.Watch != watch })
		if c.json {
			raw, _ = json.Marshal(jobs)
		}
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
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%3.0f%%\t%s\t%s\t%s\n", j.ID, termSafe(j.State), termSafe(j.Priority),
			termSafe(j.Profile), j.Progress.Fraction*100, termSafe(node), termSafe(filepath.Base(j.Source)), termSafe(j.Reason))
	}
	return tw.Flush()
}

func (c *cli) showCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show ID",
		Short:             "show one job, with its report once finished",
		Example:           "  kiln show 42\n  kiln show 42 --json | jq .report.outputs",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: c.completeJobs(""),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return c.show(cmd.Context(), args[0])
		}),
	}
}

func (c *cli) show(ctx context.Context, id string) error {
	var j api.Job
	raw, err := c.api.call(ctx, "GET", "/v1/jobs/"+url.PathEscape(id), nil, &j)
	if err != nil {
		return err
	}
	if c.json {
		c.emitJSON(raw)
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%d\nsource\t%s\nprofile\t%s\nstate\t%s\npriority\t%s\nattempts\t%d\noutput\t%s\n",
		j.ID, termSafe(j.Source), termSafe(j.Profile), termSafe(j.State), termSafe(j.Priority), j.Attempts, termSafe(j.Output))
	if j.Node != "" {
		fmt.Fprintf(tw, "node\t%s\n", termSafe(j.Node))
	}
	if j.Reason != "" {
		fmt.Fprintf(tw, "reason\t%s\n", termSafe(j.Reason))
	}
	if j.State == "running" {
		fmt.Fprintf(tw, "progress\t%s\n", progressLine(j, 0))
	}
	tw.Flush()
	if len(j.Report) > 0 {
		fmt.Fprintf(c.out, "report:\n%s\n", indent(termSafeBlock(string(j.Report))))
	}
	return nil
}

func (c *cli) cancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "cancel a queued or running job",
		Long: `cancel stops the job: a queued job leaves the queue, a running job's worker is
stopped and its staging removed. A job that another fleet node runs is refused
(running_elsewhere): cancel it there.`,
		Example:           "  kiln cancel 42",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: c.completeJobs("queued", "running"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return c.jobAction(cmd.Context(), "POST", "/v1/jobs/"+url.PathEscape(args[0])+"/cancel", nil,
				func(j api.Job) string { return fmt.Sprintf("job %d %s", j.ID, termSafe(j.State)) })
		}),
	}
}

func (c *cli) priorityCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "priority ID high|normal|low",
		Short: "move a queued job",
		Long: `priority changes a queued job's priority. Jobs run by priority, then by age,
and a waiting job gains one level per 10 minutes.`,
		Example: "  kiln priority 42 high",
		Args:    cobra.ExactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return c.completeJobs("queued")(cmd, args, toComplete)
			}
			if len(args) == 1 {
				return priorities, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return c.jobAction(cmd.Context(), "PATCH", "/v1/jobs/"+url.PathEscape(args[0]), api.PatchJob{Priority: args[1]},
				func(j api.Job) string { return fmt.Sprintf("job %d priority %s", j.ID, termSafe(j.Priority)) })
		}),
	}
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

func (c *cli) watchCmd() *cobra.Command {
	var untilIdle bool
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "live progress bars of the running jobs",
		Long: `watch shows a progress bar (percent, fps, ETA) for each running job, once a
second. On a terminal it redraws in place, each line cut to the terminal's
width; elsewhere (a pipe, a log) it prints the bars again whenever they
changed, one line per job. If kilnd restarts, watch says so once and carries
on when it is back (it gives up after 2 minutes, exit 3).`,
		Example: `  kiln watch
  kiln watch --until-idle            # return once nothing is queued or running
  kiln watch --json | jq -c '.[] | [.id, .progress.fraction]'`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return c.watch(cmd.Context(), untilIdle)
		}),
	}
	cmd.Flags().BoolVar(&untilIdle, "until-idle", false, "return once nothing is queued or running")
	return cmd
}

func (c *cli) reloadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "re-read the config, as SIGHUP does",
		Long: `reload makes kilnd re-read its config and says whether it was taken. A config
that does not validate is refused whole and the old one stays; kiln health
then says why and exits 5.`,
		Example: "  kiln reload",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			var r api.Reloaded
			raw, err := c.api.call(cmd.Context(), "POST", "/v1/reload", nil, &r)
			if err != nil {
				return err
			}
			if c.json {
				c.emitJSON(raw)
				return nil
			}
			fmt.Fprintf(c.out, "config reloaded from %s: %d watch folders, %d profiles\n", termSafe(r.Config), r.Watches, r.Profiles)
			return nil
		}),
	}
}

// simpleCmd is a command that GETs one path and prints the answer.
func (c *cli) simpleCmd(use, short, long, example, path string, print func([]byte) error) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			raw, err := c.api.call(cmd.Context(), "GET", path, nil, nil)
			if err != nil {
				return err
			}
			if c.json {
				c.emitJSON(raw)
				return nil
			}
			return print(raw)
		}),
	}
}

func (c *cli) profilesCmd() *cobra.Command {
	return c.simpleCmd("profiles", "the profiles in force", "", "  kiln profiles\n  kiln profiles --json | jq 'keys'",
		"/v1/profiles", c.printProfiles)
}

func (c *cli) watchesCmd() *cobra.Command {
	return c.simpleCmd("watches", "the watch folders in force", "", "  kiln watches", "/v1/watches", c.printWatches)
}

func (c *cli) hardwareCmd() *cobra.Command {
	return c.simpleCmd("hardware", "GPUs, CUDA, NVENC and NVDEC, and why not",
		"hardware shows what kilnd found at start or at the last reload: the GPUs, and\nfor CUDA, NVENC and NVDEC whether they are used and, if not, why.",
		"  kiln hardware", "/v1/hardware", c.printHardware)
}

func (c *cli) nodesCmd() *cobra.Command {
	return c.simpleCmd("nodes", "the appliances sharing the job store",
		"nodes lists the appliances sharing the job store (fleet mode), with their\nhardware and load; a node that is down has lost its lease.",
		"  kiln nodes", "/v1/nodes", c.printNodes)
}

func (c *cli) healthCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "status, version, uptime and queue; exit 5 when degraded",
		Long: `health prints kilnd's status, version, uptime and queue. It exits 0 when the
status is ok, 5 when kilnd is degraded (for example, a rejected reload: the
reason is printed), and 3 when kilnd cannot be reached, so that monitoring
can run it as it is.`,
		Example: "  kiln health\n  kiln health --json\n  kiln health >/dev/null; echo $?",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			var h api.Health
			raw, err := c.api.call(cmd.Context(), "GET", "/v1/health", nil, &h)
			if err != nil {
				return err
			}
			if c.json {
				c.emitJSON(raw)
			} else {
				c.printHealth(h)
			}
			// The exit code follows the status, with --json too.
			if h.Status != "ok" {
				return &degradedError{termSafe(h.Status)}
			}
			return nil
		}),
	}
}

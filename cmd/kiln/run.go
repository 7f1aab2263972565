package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"kiln/version"
)

// Exit codes. Scripts rely on them; the README and `kiln help` list them.
const (
	exitOK          = 0
	exitError       = 1 // kilnd refused the request, or something else went wrong
	exitUsage       = 2 // unknown command or flag, wrong arguments
	exitUnreachable = 3 // no answer from kilnd: not running, wrong socket, permission denied
	exitJobFailed   = 4 // submit --wait: the job ended failed or cancelled
	exitDegraded    = 5 // health: kilnd answers but is degraded
)

const exitCodesHelp = `Exit codes:
  0  ok
  1  error: kilnd refused the request (bad id, unknown profile, ...)
  2  usage: unknown command or flag, wrong arguments
  3  kilnd unreachable: not running, wrong socket, or permission denied
  4  job failed: submit --wait saw the job end failed or cancelled
  5  degraded: kilnd answers, but health is not ok`

// usageError is a mistake on the command line, found after cobra parsed it
// (a missing --profile).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// jobFailedError is a job that submit --wait followed to an end other than done.
type jobFailedError struct{ msg string }

func (e *jobFailedError) Error() string { return e.msg }

// degradedError is a health answer that is not ok.
type degradedError struct{ status string }

func (e *degradedError) Error() string { return "kilnd is " + e.status }

// ranError marks an error returned by a command's own code, as opposed to
// one cobra found while parsing: cobra's own errors (unknown flag, unknown
// command, wrong number of arguments) are all usage errors.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

// exitCode sorts an error into the documented exit codes.
func exitCode(err error) int {
	var ran *ranError
	var usage *usageError
	var unreachable *unreachableError
	var failed *jobFailedError
	var degraded *degradedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage), !errors.As(err, &ran):
		return exitUsage
	case errors.As(err, &unreachable):
		return exitUnreachable
	case errors.As(err, &failed):
		return exitJobFailed
	case errors.As(err, &degraded):
		return exitDegraded
	}
	return exitError
}

// run runs the kiln command line args and returns the exit code. Help goes
// to stdout; errors go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(ctx, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	code := exitCode(err)
	switch {
	case code == exitUsage:
		fmt.Fprintf(stderr, "kiln: %s\nusage: %s\nRun '%s --help' for more.\n", err, cmd.UseLine(), cmd.CommandPath())
	case code == exitDegraded:
		// health has printed the status and its reasons.
	case err != nil:
		fmt.Fprintln(stderr, "kiln:", err)
	}
	return code
}

// cli holds what every command needs.
type cli struct {
	socket string
	json   bool
	api    *client
	out    io.Writer
	errOut io.Writer
	tty    bool              // out is a terminal: progress redraws in place
	size   func() (int, int) // the terminal's columns and rows
}

func defaultSocket() string {
	if s := os.Getenv("KILN_SOCKET"); s != "" {
		return s
	}
	return "/run/kiln/kiln.sock"
}

// newRoot builds the kiln command tree. It is built afresh for each run, so
// that no flag value carries over from one run to the next in tests.
func newRoot(ctx context.Context, stdout, stderr io.Writer) *cobra.Command {
	c := &cli{out: stdout, errOut: stderr, tty: isTerminal(stdout), size: terminalSize(stdout)}
	root := &cobra.Command{
		Use:   "kiln",
		Short: "the client of the Kiln encoding daemon",
		Long: `kiln talks to a running kilnd over its unix socket: --socket, or
$KILN_SOCKET, or /run/kiln/kiln.sock. The socket is open to root and to
the members of its group (socket_group in kiln.toml, default kiln).

Every command takes --json, anywhere on the line, and then prints the
daemon's JSON answer (watch: one array per line; submit --wait: the
finished job).

` + exitCodesHelp,
		Example: `  kiln submit clip.mxf --profile pal-mpeg2-16x9 --priority high --wait
  kiln jobs --state queued
  kiln watch
  kiln health || echo "kilnd needs attention: exit $?"
  source <(kiln completion bash)`,
		Version:           version.Version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		// Without Args, cobra would take an unknown command for the root's
		// own argument and print help; with it, the name is in the error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return errors.New(msg)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return &ranError{usagef("no command given")}
		},
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			c.api = newClient(c.socket)
		},
	}
	root.SetContext(ctx)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SuggestionsMinimumDistance = 2
	root.SetVersionTemplate("kiln {{.Version}}\n")
	root.PersistentFlags().StringVar(&c.socket, "socket", defaultSocket(), "kilnd's socket `PATH`: this, $KILN_SOCKET, or /run/kiln/kiln.sock")
	root.PersistentFlags().BoolVar(&c.json, "json", false, "print the daemon's JSON answer")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })

	root.AddCommand(c.submitCmd(), c.jobsCmd(), c.showCmd(), c.cancelCmd(), c.priorityCmd(), c.watchCmd(),
		c.profilesCmd(), c.watchesCmd(), c.hardwareCmd(), c.nodesCmd(), c.healthCmd(), c.reloadCmd(),
		c.versionCmd(), genManCmd(root))
	root.SetHelpCommand(helpCmd(root))
	// The standard `completion` command, with a word on how to install it.
	root.InitDefaultCompletionCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "completion" {
			sub.Example = completionExamples
			// cobra's completion command has no code of its own and prints
			// its help for any argument; an unknown shell is a usage error.
			sub.Args = cobra.ArbitraryArgs
			sub.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return &ranError{usagef("completion needs a shell: bash, zsh, fish or powershell")}
				}
				return &ranError{usagef("no completion for shell %q (bash, zsh, fish or powershell)", args[0])}
			}
			sub.Long += "\n\nmake install puts the bash, zsh and fish scripts where those shells look."
			for _, shell := range sub.Commands() {
				shell.Example = fmt.Sprintf("  kiln completion %s > FILE   # see kiln completion --help for where", shell.Name())
			}
		}
	}
	return root
}

const completionExamples = `  source <(kiln completion bash)                                   # this shell only
  kiln completion bash > /usr/share/bash-completion/completions/kiln
  kiln completion zsh > /usr/local/share/zsh/site-functions/_kiln
  kiln completion fish > ~/.config/fish/completions/kiln.fish`

// runE wraps a command's code, so that its errors are told apart from
// cobra's parse errors (see ranError).
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return &ranError{err}
		}
		return nil
	}
}

// helpCmd replaces cobra's help command, which prints "Unknown help topic"
// and exits 0: an unknown topic is a usage error here, as it is anywhere.
func helpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "help about any command",
		Example: "  kiln help submit\n  kiln submit --help",
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, sub := range root.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) && len(args) == 0 {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return &ranError{usagef("unknown help topic %q", strings.Join(args, " "))}
			}
			return target.Help()
		},
	}
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print kiln's version",
		Long:    "version prints the version of this kiln; `kiln health` shows kilnd's.",
		Example: "  kiln version\n  kiln version --json",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if c.json {
				fmt.Fprintf(c.out, "{\"version\":%q}\n", version.Version)
				return nil
			}
			fmt.Fprintln(c.out, "kiln", version.Version)
			return nil
		}),
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"kiln/config"
	"kiln/daemon"
	"kiln/manpage"
	"kiln/systemd/journal"
	"kiln/version"
)

// systemConfig is the config kilnd reads when --config is not given, if it
// exists; make install puts it there. A variable so that tests can point it
// into a temporary folder.
var systemConfig = "/etc/kiln/kiln.toml"

// Exit codes: 0 ok, 1 error (bad config, start failed), 2 usage.
const (
	exitError = 1
	exitUsage = 2
)

// ranError marks an error returned by a command's own code; any other error
// out of cobra is a parse error, a usage mistake.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

// exitStatus is an error that has already been reported (a log line, a
// file:line list) and only carries the exit code.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return &ranError{err}
		}
		return nil
	}
}

// run parses the command line, runs the daemon or a subcommand, and returns
// the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var ran *ranError
	var status exitStatus
	switch {
	case err == nil:
		return 0
	case !errors.As(err, &ran):
		fmt.Fprintf(stderr, "kilnd: %s\nusage: %s\nRun '%s --help' for more.\n", err, cmd.UseLine(), cmd.CommandPath())
		return exitUsage
	case errors.As(err, &status):
		return int(status)
	}
	fmt.Fprintln(journal.ErrorLines(stderr), "kilnd:", err)
	return exitError
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	var check, embedded bool
	root := &cobra.Command{
		Use:   "kilnd",
		Short: "the Kiln encoding daemon",
		Long: `kilnd runs the Kiln daemon: it watches the inboxes, queues jobs, runs each in a
kiln-worker process of its own and serves the API on its unix socket.

The config is --config FILE; without it, /etc/kiln/kiln.toml when that file
exists, else the embedded default, which keeps everything under ./var of the
current folder (make demo). kilnd logs which one it took.

Exit codes: 0 ok, 1 error (bad config, start failed), 2 usage.`,
		Example: `  kilnd --config /etc/kiln/kiln.toml --check   # validate, print the effective config
  kilnd --config /etc/kiln/kiln.toml           # run (systemd runs it so)
  kilnd --embedded-config                      # the demo's config under ./var
  kilnd transcode --profile web clip.mxf out/  # one job, no daemon`,
		Version:       version.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q (commands: transcode, version)", args[0])
			}
			return nil
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return runDaemon(cmd.Context(), configPath, embedded, check, stdout, stderr)
		}),
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("kilnd {{.Version}}\n")
	root.Flags().StringVarP(&configPath, "config", "c", "", "config `FILE` (default /etc/kiln/kiln.toml if it exists, else the embedded default)")
	root.Flags().BoolVar(&check, "check", false, "validate the config, print the effective config and exit 0 or 1")
	root.Flags().BoolVar(&embedded, "embedded-config", false, "use the embedded default config (under ./var) even if /etc/kiln/kiln.toml exists")
	root.MarkFlagsMutuallyExclusive("config", "embedded-config")
	root.MarkFlagFilename("config", "toml")

	root.AddCommand(transcodeCmd(stderr), workerCmd(stderr), &cobra.Command{
		Use:     "version",
		Short:   "print kilnd's version",
		Example: "  kilnd version\n  kilnd --version",
		Args:    cobra.NoArgs,
		Run:     func(cmd *cobra.Command, args []string) { fmt.Fprintln(stdout, "kilnd", version.Version) },
	}, genManCmd(root))
	root.SetHelpCommand(&cobra.Command{
		Use:     "help [command]",
		Short:   "help about any command",
		Example: "  kilnd help transcode\n  kilnd transcode --help",
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			// cobra's own help says "Unknown help topic" and exits 0.
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usageErr(cmd, fmt.Sprintf("unknown help topic %q", strings.Join(args, " ")))
			}
			return target.Help()
		}),
	})
	root.InitDefaultCompletionCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "completion" {
			sub.Example = "  source <(kilnd completion bash)\n  kilnd completion zsh > /usr/local/share/zsh/site-functions/_kilnd"
			sub.Args = cobra.ArbitraryArgs
			sub.RunE = func(cmd *cobra.Command, args []string) error {
				return usageErr(cmd, "completion needs a shell: bash, zsh, fish or powershell")
			}
			for _, shell := range sub.Commands() {
				shell.Example = fmt.Sprintf("  kilnd completion %s > FILE", shell.Name())
			}
		}
	}
	return root
}

func transcodeCmd(stderr io.Writer) *cobra.Command {
	var configPath, profile string
	cmd := &cobra.Command{
		Use:   "transcode --profile NAME INPUT OUTDIR",
		Short: "run one job in the foreground, without a daemon",
		Long: `transcode runs one job in the foreground: the same pipeline, outputs and report
as a daemon job, without a daemon, a store or an inbox. The outputs and the
report go to OUTDIR/<name>/<profile>/. The config is found as for the daemon.`,
		Example: `  kilnd transcode --config /etc/kiln/kiln.toml --profile pal-mpeg2-16x9 clip.mxf /tmp/out
  kilnd transcode --profile web clip.mov out/`,
		Args: cobra.ExactArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if profile == "" {
				return usageErr(cmd, "transcode needs --profile")
			}
			path, _, err := resolveConfig(configPath, false)
			if err != nil {
				return err
			}
			return runTranscode(cmd.Context(), path, profile, args[0], args[1], cmd.OutOrStdout(), stderr)
		}),
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "config `FILE` (default as for the daemon)")
	cmd.Flags().StringVarP(&profile, "profile", "p", "", "the profile `NAME` to run (required)")
	cmd.MarkFlagFilename("config", "toml")
	cmd.RegisterFlagCompletionFunc("profile", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		// The profiles of the config this command would use; nothing if it
		// does not load.
		var names []string
		if path, _, err := resolveConfig(configPath, false); err == nil {
			if cfg, err := loadConfig(path); err == nil {
				for _, n := range cfg.ProfileNames() {
					if strings.HasPrefix(n, toComplete) {
						names = append(names, n)
					}
				}
			}
		}
		sort.Strings(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// usageErr reports a usage mistake found after parsing: it prints the usage
// itself and exits 2.
func usageErr(cmd *cobra.Command, msg string) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "kilnd: %s\nusage: %s\nRun '%s --help' for more.\n", msg, cmd.UseLine(), cmd.CommandPath())
	return exitStatus(exitUsage)
}

// workerCmd is the internal `kilnd worker`: its stdin, stdout and flags are
// the worker protocol's, handed to kiln-worker untouched.
func workerCmd(stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:                "worker",
		Short:              "(internal) run one job from stdin",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return execWorker(append([]string{"worker"}, args...), stderr)
		}),
	}
}

// resolveConfig picks the config: --config, else /etc/kiln/kiln.toml when
// it exists, else the embedded default (path ""). It says which, for the
// log. A system config that exists but cannot be looked at is an error, not
// a reason to fall back: the daemon would quietly run on the wrong config.
func resolveConfig(flagPath string, embedded bool) (path, from string, err error) {
	switch {
	case flagPath != "":
		return flagPath, "--config", nil
	case embedded:
		return "", "--embedded-config", nil
	}
	_, err = os.Stat(systemConfig)
	switch {
	case err == nil:
		return systemConfig, "found " + systemConfig + " (no --config given)", nil
	case errors.Is(err, fs.ErrNotExist):
		return "", "no --config given and no " + systemConfig, nil
	}
	return "", "", fmt.Errorf("cannot look at %s: %w (pass --config FILE, or --embedded-config)", systemConfig, err)
}

func runDaemon(ctx context.Context, flagPath string, embedded, check bool, stdout, stderr io.Writer) error {
	configPath, from, err := resolveConfig(flagPath, embedded)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(configPath)
	if err != nil {
		fmt.Fprintln(journal.ErrorLines(stderr), err) // file:line: reason, one per line
		return exitStatus(exitError)
	}
	// What the config text cannot show: folders shared through links, a
	// state_dir that cannot be made.
	if err := config.CheckFolders(cfg); err != nil {
		fmt.Fprintln(journal.ErrorLines(stderr), err)
		return exitStatus(exitError)
	}
	shown := configPath
	if shown == "" {
		shown = "embedded default (under ./var)"
	}
	if check {
		fmt.Fprintf(journal.Lines(stderr, slog.LevelInfo), "kilnd: config %s: %s\n", shown, from)
		stdout.Write(cfg.Effective())
		return nil
	}
	logger := slog.New(journal.NewHandler(stderr, &slog.HandlerOptions{Level: logLevel(cfg.Daemon.LogLevel)}))
	// First of all: which config this daemon runs on, and why that one.
	logger.Info("config", "path", shown, "from", from)
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find its own executable: %w", err)
	}
	worker, err := workerPath(exe)
	if err != nil {
		return err
	}
	d := &daemon.Daemon{
		Config:     cfg,
		ConfigPath: configPath,
		Logger:     logger,
		WorkerCmd:  []string{worker, "worker"},
		GPUWorker:  gpuWorkerPath(exe),
		Version:    version.Version,
	}
	if err := d.Initialize(); err != nil {
		logger.Error("start failed", "err", err)
		return exitStatus(exitError)
	}
	defer d.Close()
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("daemon stopped", "err", err)
		return exitStatus(exitError)
	}
	return nil
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default()
	}
	return config.Load(path)
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// execWorker replaces this process with kiln-worker running args (the
// subcommand and its flags). It returns only when that is impossible.
func execWorker(args []string, stderr io.Writer) error {
	exe, err := os.Executable()
	if err == nil {
		var worker string
		if worker, err = workerPath(exe); err == nil {
			err = syscall.Exec(worker, append([]string{worker}, args...), os.Environ())
		}
	}
	fmt.Fprintf(stderr, "kilnd %s: %v\n", args[0], err)
	return exitStatus(exitError)
}

// genManCmd writes a man page per command into DIR, for make man.
func genManCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "write the man pages into DIR (for make man)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return manpage.Write(root, "KILND", args[0])
		}),
	}
}

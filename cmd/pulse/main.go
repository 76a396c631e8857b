// Command pulse is the one binary of Pulse: the embedded broker, the
// generator, the loader, the pipeline and the demo that runs them all.
// main only wires components; each command lives in its own file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "pulse:", err)
		os.Exit(1)
	}
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a command gets from the process.
type env struct {
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

func commands() map[string]command {
	return map[string]command{
		"demo":     {"the whole system on one machine: embedded broker, generator, ingest and web server", runDemo},
		"run":      {"the pipeline and web server against a real Kafka cluster and a DuckDB file", runRun},
		"broker":   {"the embedded Kafka-protocol broker alone (--port, default 9092)", runBroker},
		"generate": {"the event generator: to Kafka (--brokers) or to JSON-lines files (--out)", runGenerate},
		"load":     {"publish events from JSON-lines files to Kafka", runLoad},
		"backup":   {"ask a running Pulse for a backup: --server URL [--token T] [--name NAME] (into its backup.dir)", runBackup},
		"restore":  {"make a new database from a backup: --from DIR --data DIR; run while Pulse is stopped", runRestore},
		"users":    {"manage users, roles and API tokens (add, list, remove, passwd, token, tokens, revoke); run while Pulse is stopped", runUsers},
	}
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	e := &env{environ: environ, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd.run(ctx, e, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Pulse: a KPI warehouse for sales and service teams.")
	fmt.Fprintln(w, "\nUsage: pulse <command> [flags]   (pulse <command> --help lists its flags)\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nSettings come from --config FILE, then PULSE_* environment variables, then flags.")
	fmt.Fprintln(w, "See pulse.example.yaml for every setting.")
}

// newFlagSet makes a flag set whose --help prints the command's summary.
func newFlagSet(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("pulse "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "pulse %s: %s\n\nFlags:\n", name, commands()[name].summary)
		fs.PrintDefaults()
	}
	return fs
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

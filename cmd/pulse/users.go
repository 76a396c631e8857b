package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/warehouse"
)

// usersStdin is where --password-stdin reads (tests replace it).
var usersStdin io.Reader = os.Stdin

// usersSub is one subcommand of pulse users.
type usersSub struct {
	summary string
	flags   func(fs *flag.FlagSet) func(ctx context.Context, e *env, st *auth.Store) error
}

func usersSubs() map[string]usersSub {
	return map[string]usersSub{
		"add": {"add a user: --login L --role R [--employee E] [--name N] [--password-stdin]", func(fs *flag.FlagSet) func(context.Context, *env, *auth.Store) error {
			login := fs.String("login", "", "sign-in name (letters, digits, . _ @ -)")
			role := fs.String("role", "", "admin, executive, analyst, manager or employee")
			employee := fs.String("employee", "", "employee id the user is (required for manager and employee)")
			name := fs.String("name", "", "display name (default: the login)")
			stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (default: generate one and print it once)")
			return func(ctx context.Context, e *env, st *auth.Store) error {
				pw, generated, err := usersPassword(*stdin)
				if err != nil {
					return err
				}
				u, err := st.AddUser(ctx, auth.User{Login: *login, DisplayName: *name, Role: auth.Role(*role), EmployeeID: *employee, Password: pw})
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "added user %s (%s", u.Login, u.Role)
				if u.EmployeeID != "" {
					fmt.Fprintf(e.stdout, ", employee %s", u.EmployeeID)
				}
				fmt.Fprintln(e.stdout, ")")
				if generated {
					fmt.Fprintf(e.stdout, "password: %s\n(shown once; change it with pulse users passwd --login %s)\n", pw, u.Login)
				}
				return nil
			}
		}},
		"list": {"list users", func(fs *flag.FlagSet) func(context.Context, *env, *auth.Store) error {
			return func(ctx context.Context, e *env, st *auth.Store) error {
				users, err := st.ListUsers(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LOGIN\tROLE\tEMPLOYEE\tNAME\tTOKENS\tCREATED")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", u.Login, u.Role, orDash(u.EmployeeID), u.DisplayName, u.Tokens, u.CreatedAt.Format("2006-01-02 15:04"))
				}
				tw.Flush()
				fmt.Fprintf(e.stdout, "%d users\n", len(users))
				return nil
			}
		}},
		"remove": {"remove a user with their sessions and tokens: --login L", func(fs *flag.FlagSet) func(context.Context, *env, *auth.Store) error {
			login := fs.String("login", "", "the user's sign-in name")
			return func(ctx context.Context, e *env, st *auth.Store) error {
				if err := st.RemoveUser(ctx, *login); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "removed user %s\n", auth.NormalizeLogin(*login))
				return nil
			}
		}},
		"passwd": {"set a user's password (ends their sessions): --login L [--password-stdin]", func(fs *flag.FlagSet) func(context.Context, *env, *auth.Store) error {
			login := fs.String("login", "", "the user's sign-in name")
			stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (default: generate one and print it once)")
			return func(ctx context.Context, e *env, st *auth.Store) error {
				pw, generated, err := usersPassword(*stdin)
				if err != nil {
					return err
				}
				if err := st.SetPassword(ctx, *login, pw); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "password of %s changed; their sessions ended\n", auth.NormalizeLogin(*login))
				if generated {
					fmt.Fprintf(e.stdout, "password: %s\n(shown once)\n", pw)
				}
				return nil
			}
		}},
		"token": {"make an API token for scripts, printed once: --login L --name N", func(fs *flag.FlagSet) func(context.Context, *env, *auth.Store) error {
			login := fs.String("login", "", "the user the token acts as")
			name := fs.String("name", "", "what the token is for (unique among the user's tokens)")
			return func(ctx context.Context, e *env, st *auth.Store) error {
				tok, err := st.CreateToken(ctx, *login, *name)
				if err != nil {
					return err
				}
				// The token alone on stdout, for scripts; the advice on stderr.
				fmt.Fprintln(e.stdout, tok)
				fmt.Fprintf(e.stderr, "token %q of %s: shown once, store it now; use it as Authorization: Bearer <token>; revoke it with pulse users revoke --login %s --name %q\n",
					strings.TrimSpace(*name), auth.NormalizeLogin(*login), auth.NormalizeLogin(*login), strings.TrimSpace(*name))
				return nil
			}
		}},
		"tokens": {"list API tokens (never their secret): [--login L]", func(fs *flag.FlagSet) func(context.Context, *env, *auth.Store) error {
			login := fs.String("login", "", "only this user's tokens")
			return func(ctx context.Context, e *env, st *auth.Store) error {
				toks, err := st.ListTokens(ctx, *login)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LOGIN\tNAME\tCREATED\tLAST USED\tREVOKED")
				for _, t := range toks {
					used, revoked := "-", "-"
					if t.LastUsedAt != nil {
						used = t.LastUsedAt.Format("2006-01-02 15:04")
					}
					if t.RevokedAt != nil {
						revoked = t.RevokedAt.Format("2006-01-02 15:04")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Login, t.Name, t.CreatedAt.Format("2006-01-02 15:04"), used, revoked)
				}
				return tw.Flush()
			}
		}},
		"revoke": {"revoke an API token: --login L --name N", func(fs *flag.FlagSet) func(context.Context, *env, *auth.Store) error {
			login := fs.String("login", "", "the token's user")
			name := fs.String("name", "", "the token's name")
			return func(ctx context.Context, e *env, st *auth.Store) error {
				if err := st.RevokeToken(ctx, *login, *name); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked token %q of %s\n", strings.TrimSpace(*name), auth.NormalizeLogin(*login))
				return nil
			}
		}},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func usersSubNames() []string {
	return []string{"add", "list", "remove", "passwd", "token", "tokens", "revoke"}
}

func runUsers(ctx context.Context, e *env, args []string) error {
	subs := usersSubs()
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := newFlagSet(e, "users")
		addSettingFlags(fs, "data")
		base := fs.Usage
		fs.Usage = func() {
			base()
			fmt.Fprintln(fs.Output(), "\nSubcommands (pulse users <subcommand> --help lists its flags):")
			for _, n := range usersSubNames() {
				fmt.Fprintf(fs.Output(), "  %-7s %s\n", n, subs[n].summary)
			}
			fmt.Fprintln(fs.Output(), "\nDuckDB lets one process open the database: run pulse users while Pulse is stopped.")
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		fs.Usage()
		return errors.New("users: name a subcommand")
	}
	sub, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("users: unknown subcommand %q (want one of %s)", args[0], strings.Join(usersSubNames(), ", "))
	}
	name := args[0]
	fs := flag.NewFlagSet("pulse users "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "pulse users %s: %s\n\nFlags:\n", name, sub.summary)
		fs.PrintDefaults()
	}
	sf := addSettingFlags(fs, "data")
	do := sub.flags(fs)
	cfg, err := sf.parse(args[1:], e.environ)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("users %s: unexpected arguments %v", name, fs.Args())
	}
	wh, err := openUsersWarehouse(ctx, e, cfg, name == "add")
	if err != nil {
		return err
	}
	err = do(ctx, e, auth.NewStore(wh.DB(), auth.StoreOptions{}))
	return errors.Join(err, wh.Close())
}

// openUsersWarehouse opens the configured DuckDB file, which must exist
// unless create, explaining the error DuckDB gives when Pulse has it open.
func openUsersWarehouse(ctx context.Context, e *env, cfg config.Config, create bool) (*warehouse.Warehouse, error) {
	file := cfg.Warehouse.File
	if file == "" {
		file = "pulse.duckdb"
	}
	path := filepath.Join(cfg.Data, file)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("no database at %s: set --data or PULSE_DATA to Pulse's data folder", path)
		}
		fmt.Fprintf(e.stderr, "creating a new database at %s\n", path)
	}
	wh, err := warehouse.Open(ctx, warehouse.Options{Dir: cfg.Data, File: cfg.Warehouse.File, Threads: cfg.Warehouse.Threads, MemoryLimit: cfg.Warehouse.MemoryLimit})
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
			return nil, fmt.Errorf("%s is in use by another process (is Pulse running?): DuckDB lets one process open it, so stop Pulse, run pulse users, then start Pulse again\n(%v)", path, err)
		}
		return nil, err
	}
	return wh, nil
}

// usersPassword reads the password from stdin, or generates one.
func usersPassword(fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		return auth.RandomPassword(), true, nil
	}
	line, err := bufio.NewReader(usersStdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", false, fmt.Errorf("reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

package chaos

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	roundsFlag = flag.Int("chaos.rounds", 0, "fault rounds (long mode); 0 means $PULSE_CHAOS_ROUNDS, else the short mode's one round of each fault")
	seedFlag   = flag.Int64("chaos.seed", 0, "random seed of the rounds (0: from the clock; the seed is logged)")
	rateFlag   = flag.Int("chaos.rate", 2000, "events produced per second while the rounds run")
	faultsFlag = flag.String("chaos.faults", "", "comma-separated fault kinds to run (default: all)")
)

// selectedFaults are the fault kinds of -chaos.faults, else all.
func selectedFaults(t *testing.T) []string {
	if *faultsFlag == "" {
		return append([]string(nil), faults...)
	}
	var out []string
	for _, f := range strings.Split(*faultsFlag, ",") {
		if !slices.Contains(faults, f) {
			t.Fatalf("-chaos.faults: %q is not one of %v", f, faults)
		}
		out = append(out, f)
	}
	return out
}

// pulseBin is the binary under test: $PULSE_E2E_BINARY, or built by
// TestMain into a temporary folder.
var pulseBin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	pulseBin = os.Getenv("PULSE_E2E_BINARY")
	if pulseBin == "" {
		tmp, err := os.MkdirTemp("", "pulse-chaos-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		pulseBin = filepath.Join(tmp, "pulse")
		build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", pulseBin, "./cmd/pulse")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: building pulse: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

// rounds is the number of fault rounds: -chaos.rounds, else
// $PULSE_CHAOS_ROUNDS, else 0 (the short mode).
func rounds(t *testing.T) int {
	if *roundsFlag > 0 {
		return *roundsFlag
	}
	if s := os.Getenv("PULSE_CHAOS_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("PULSE_CHAOS_ROUNDS=%q: not a number of rounds", s)
		}
		return n
	}
	return 0
}

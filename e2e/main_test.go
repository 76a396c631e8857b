package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// requireEnv makes a missing browser a failure instead of a skip (CI sets it).
const requireEnv = "PULSE_REQUIRE_BROWSER"

// suite is the demo and the browser that every test of the package
// shares: starting them takes most of the package's time, so TestMain
// does it once.
var suite *harness

// harness is what TestMain prepared, or why it could not.
type harness struct {
	skip       string // why the tests skip ("" when they run)
	browserErr error  // Chromium did not start
	setupErr   error  // the demo did not start
	demo       *demo
	browser    *browser
	artifacts  string // folder of the screenshots
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	suite = &harness{artifacts: artifactsDir()}
	chromium := findChromium()
	switch {
	case chromium == "":
		suite.skip = "Chromium not found (apt-get install chromium, or set PULSE_CHROMIUM); set " + requireEnv + "=1 to fail instead"
		return m.Run()
	case testing.Short():
		suite.skip = "-short: the browser tests start a demo and a browser"
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "pulse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(suite.artifacts, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: artifacts folder:", err)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	suite.browser, suite.browserErr = startBrowser(chromium, filepath.Join(tmp, "chromium-profile"))
	if suite.browserErr == nil {
		suite.demo, suite.setupErr = startDemo(ctx, tmp, suite.artifacts)
	}
	code := m.Run()

	if suite.browser != nil {
		suite.browser.close()
	}
	if suite.demo != nil && suite.setupErr == nil {
		if err := suite.demo.stop(30 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: the demo did not stop cleanly:", err)
			code = 1
		}
	}
	fmt.Fprintln(os.Stderr, "e2e: screenshots in", suite.artifacts)
	return code
}

// need is the harness with the demo for a test, which skips or fails
// when there is none.
func need(t *testing.T) *harness {
	t.Helper()
	h := needBrowser(t)
	if h.setupErr != nil {
		t.Fatalf("starting the demo: %v", h.setupErr)
	}
	return h
}

// needBrowser is the harness for a test that needs the browser only.
func needBrowser(t *testing.T) *harness {
	t.Helper()
	if suite.skip != "" {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s=1 but the browser tests cannot run: %s", requireEnv, suite.skip)
		}
		t.Skip(suite.skip)
	}
	if suite.browserErr != nil {
		t.Fatalf("starting Chromium: %v", suite.browserErr)
	}
	return suite
}

// artifactsDir is $PULSE_ARTIFACTS, else e2e/artifacts (the tests run in
// e2e/).
func artifactsDir() string {
	if d := os.Getenv("PULSE_ARTIFACTS"); d != "" {
		return d
	}
	d, err := filepath.Abs("artifacts")
	if err != nil {
		return "artifacts"
	}
	return d
}

// Package e2e holds Pulse's end-to-end browser tests: they build the real
// binary, start `pulse demo` on a loopback port and drive headless
// Chromium through the web UI as each role, because only a real browser
// shows what the server-rendered pages, their scripts, the Content
// Security Policy and ECharts do together. It has no code of its own;
// see README.md for running the tests and where screenshots go.
package e2e

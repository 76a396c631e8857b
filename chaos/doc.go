// Package chaos is Pulse's fault suite: the real binary, the embedded
// broker over TCP behind a proxy that can cut connections, and a DuckDB
// file, while faults are thrown at the running process (SIGKILL, SIGTERM,
// connections cut, poison messages, a kill mid-transform). The tests are
// all in _test files; see README.md.
package chaos

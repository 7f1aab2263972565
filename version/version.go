// Package version holds the build's version string, written into every job
// report, GET /v1/health and `kilnd version`. It is a package of its own so
// that the daemon, the workers and the CLI share it without importing each
// other's dependencies. make sets it with
// -ldflags '-X kiln/version.Version=…' (git describe).
package version

// Version is the build's version; "dev" for a plain go build.
var Version = "dev"

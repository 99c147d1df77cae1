// Package dockertest runs beacon servers in Docker containers, each with
// its own address on a private bridge network, and tests what only real
// processes on real networks show: a leader cut off by removing its
// network interface, servers killed with SIGKILL under write load and
// started again on the data their container kept, and the CLI and
// snapshots inside an image built FROM scratch (no shell, no /tmp).
//
// The tests run only with BEACON_DOCKER=1 (`make test-docker`, which
// .ci/run calls): they need a Docker engine and build their own image
// from the module's source; no registry is used.
package dockertest

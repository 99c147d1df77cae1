// Package nettest has network helpers for tests: loopback addresses
// that refuse connections and that no other process can take while the
// test runs.
package nettest

// Package testcluster runs a Raft group of beacon servers inside one test
// process, on loopback TCP through the real transport, with fault injection
// (partitions, kills, restarts with and without data) and a check after
// every test that all live servers hold the same catalog and that no
// goroutine leaked.
package testcluster

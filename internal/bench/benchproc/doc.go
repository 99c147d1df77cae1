// Package benchproc runs beacon agents as separate processes (bin/beacon)
// for the benchmark programs under internal/bench: a cluster of servers on
// loopback with free ports, the leader among them, JSON reads of their
// HTTP API, and the CPU and memory /proc reports of a process. Its helpers
// end the program on failure: they serve benchmark mains, not a library.
package benchproc

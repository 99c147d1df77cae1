// Command httpbench measures beacon's HTTP API end to end with wrk against
// real agent processes (bin/beacon): KV writes on a 3-server cluster at 1,
// 16 and 256 connections, health reads on one server, and 10,000 blocking
// queries on one agent (memory per waiting query, time to wake one). A
// trivial net/http server measured with the same wrk settings in the same
// run is the baseline: the ceiling of HTTP on this machine. It prints a
// table.
package main

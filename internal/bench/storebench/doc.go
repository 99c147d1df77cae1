// Command storebench measures the replicated store for `make bench`:
// synced KV writes through a 3-server Raft cluster on loopback at several
// writer counts, beside a raw synced-Badger baseline measured in the same
// run, and the resident memory of a server holding 100,000 keys. It prints
// tables; docs/PERFORMANCE.md records the figures.
package main

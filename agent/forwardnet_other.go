//go:build !linux

package agent

import (
	"syscall"
	"time"
)

// setUserTimeout is Linux-only; elsewhere keepalives and the forwarding
// deadline detect a server that stopped answering.
func setUserTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}

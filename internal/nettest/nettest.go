package nettest

import (
	"fmt"
	"net"
	"syscall"
	"testing"
)

// RefusingAddr returns a loopback TCP address that refuses connections
// until the test ends: its port is bound but not listening, so no other
// process can take it and start answering. (Listening on port 0 and
// closing the listener leaves the port free for anyone.)
func RefusingAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// RefusingUDPAddr returns a loopback UDP address that answers every
// datagram with ICMP port unreachable until the test ends: the port is
// held by a socket connected to another address, which the kernel
// delivers nothing else to.
func RefusingUDPAddr(t testing.TB) string {
	t.Helper()
	held, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
	if err != nil {
		t.Fatalf("hold a UDP port: %v", err)
	}
	t.Cleanup(func() { _ = held.Close() })
	return held.LocalAddr().String()
}

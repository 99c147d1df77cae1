package benchproc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Runner starts agents from one binary with the same extra flags.
type Runner struct {
	Bin  string   // the beacon binary, e.g. bin/beacon
	Args []string // added to every agent's command line
}

// Proc is a running agent process.
type Proc struct {
	Cmd    *exec.Cmd
	HTTP   string // HTTP API address
	Server string // server port address
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs `beacon agent` with args plus its ports (DNS off, logging at
// warn).
func (r Runner) Start(args ...string) *Proc {
	hp, sp := FreePort(), FreePort()
	p := &Proc{HTTP: fmt.Sprintf("127.0.0.1:%d", hp), Server: fmt.Sprintf("127.0.0.1:%d", sp)}
	args = append(append([]string{"agent", "-http-port", strconv.Itoa(hp), "-server-port", strconv.Itoa(sp), "-dns-port", "-1", "-log-level", "warn"}, r.Args...), args...)
	p.Cmd = exec.Command(r.Bin, args...)
	p.Cmd.Stderr = os.Stderr
	if err := p.Cmd.Start(); err != nil {
		log.Fatal(err)
	}
	return p
}

// Cluster starts n servers with data dirs under dir, joined through the
// first, and waits until each sees a leader.
func (r Runner) Cluster(dir string, n int) []*Proc {
	var ps []*Proc
	for i := range n {
		args := []string{"-server", "-bind", "127.0.0.1", "-node", fmt.Sprintf("s%d", i+1), "-data-dir", filepath.Join(dir, fmt.Sprintf("s%d", i+1)), "-bootstrap-expect", strconv.Itoa(n)}
		if i > 0 {
			args = append(args, "-retry-join", ps[0].Server)
		}
		ps = append(ps, r.Start(args...))
	}
	for _, p := range ps {
		WaitLeader(p.HTTP)
	}
	return ps
}

// StopAll interrupts the processes and waits for them to exit.
func StopAll(ps []*Proc) {
	for _, p := range ps {
		p.Cmd.Process.Signal(os.Interrupt)
	}
	for _, p := range ps {
		p.Cmd.Wait()
	}
}

// GetJSON decodes the answer to GET http://addr+path into v.
func GetJSON(addr, path string, v any) error {
	_, err := GetJSONIndex(addr, path, v)
	return err
}

// GetJSONIndex is GetJSON that also returns the answer's X-Consul-Index.
func GetJSONIndex(addr, path string, v any) (uint64, error) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	return idx, json.NewDecoder(resp.Body).Decode(v)
}

// Put sends a PUT with body and ends the program unless it answers 200.
func Put(addr, path string, body []byte) {
	Do(http.MethodPut, addr, path, body)
}

// Do sends a request with body and ends the program unless it answers 200.
func Do(method, addr, path string, body []byte) {
	req, _ := http.NewRequestWithContext(context.Background(), method, "http://"+addr+path, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		log.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
}

// WaitLeader waits (up to 30s) until the agent at addr knows a leader.
func WaitLeader(addr string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var leader string
		if GetJSON(addr, "/v1/status/leader", &leader) == nil && leader != "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("no leader seen by %s", addr)
}

// LeaderIndex returns the index in ps of the leader, as ps[0] sees it.
func LeaderIndex(ps []*Proc) int {
	var leader string
	if err := GetJSON(ps[0].HTTP, "/v1/status/leader", &leader); err != nil {
		log.Fatal(err)
	}
	for i, p := range ps {
		if p.Server == leader {
			return i
		}
	}
	log.Fatalf("leader %s is not one of the servers", leader)
	return 0
}

package dockertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// label marks every container, network and image these tests create, so a
// run can remove what an earlier, interrupted run left behind.
const label = "beacon-dockertest"

func TestMain(m *testing.M) {
	if os.Getenv("BEACON_DOCKER") != "1" {
		fmt.Println("dockertest: skipped (set BEACON_DOCKER=1, or run `make test-docker`)")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// docker runs a docker command and returns its trimmed output.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := docker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// removeLeftovers removes containers and networks of earlier runs.
func removeLeftovers() {
	if ids, _ := docker("ps", "-aq", "--filter", "label="+label); ids != "" {
		docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	if ids, _ := docker("network", "ls", "-q", "--filter", "label="+label); ids != "" {
		docker(append([]string{"network", "rm"}, strings.Fields(ids)...)...)
	}
}

// cluster is three beacon servers, one container each, on a bridge
// network with fixed addresses (a container keeps its address when it is
// reconnected or restarted, as a server's advertised address must).
type cluster struct {
	t       *testing.T
	image   string
	network string
	prefix  string   // the network's addresses without their last number
	names   []string // container names: s1..s3, then client agents
	ips     []string // the servers' addresses
	joins   []string // -retry-join flags naming every server
	http    *http.Client
}

// buildImage builds beacon statically and an image FROM scratch around it.
func buildImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "beacon"), "github.com/beacon-sd/beacon/cmd/beacon")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY beacon /beacon\nENTRYPOINT [\"/beacon\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	image := fmt.Sprintf("beacon-dockertest:%d", os.Getpid())
	mustDocker(t, "build", "-q", "--label", label, "-t", image, dir)
	t.Cleanup(func() { docker("rmi", "-f", image) })
	return image
}

// startCluster creates the network and starts three servers that find
// each other through -retry-join and bootstrap.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	removeLeftovers()
	c := &cluster{t: t, image: buildImage(t), http: &http.Client{Timeout: 5 * time.Second}}
	c.network = fmt.Sprintf("beacon-dt-%d", os.Getpid())
	// A /24 no other network on the machine uses: try a few.
	var subnet string
	for i := range 40 {
		subnet = fmt.Sprintf("172.%d.%d.0/24", 28+i%3, 100+(os.Getpid()+i)%150)
		if _, err := docker("network", "create", "--label", label, "--subnet", subnet, c.network); err == nil {
			break
		}
		subnet = ""
	}
	if subnet == "" {
		t.Fatal("no free subnet for the test network")
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range c.names {
				logs, _ := docker("logs", "--tail", "40", n)
				t.Logf("last log lines of %s:\n%s", n, logs)
			}
		}
		for _, n := range c.names {
			docker("rm", "-f", n)
		}
		docker("network", "rm", c.network)
	})
	c.prefix = strings.TrimSuffix(subnet, "0/24")
	var joins []string
	for i := range 3 {
		c.names = append(c.names, fmt.Sprintf("%s-s%d", c.network, i+1))
		c.ips = append(c.ips, fmt.Sprintf("%s%d", c.prefix, 11+i))
		joins = append(joins, "-retry-join", c.ips[i]+":8300")
	}
	c.joins = joins
	for i := range c.names {
		c.runServer(i)
	}
	c.waitLeader(nil)
	return c
}

// runServer starts server i's container (a new one: empty data).
func (c *cluster) runServer(i int) {
	c.t.Helper()
	args := []string{"run", "-d", "--label", label, "--name", c.names[i], "--network", c.network, "--ip", c.ips[i], c.image,
		"agent", "-server", "-node", fmt.Sprintf("s%d", i+1), "-data-dir", "/data", "-bootstrap-expect", "3",
		"-bind", c.ips[i], "-client", "0.0.0.0"}
	mustDocker(c.t, append(args, c.joins...)...)
}

// startClient starts a client agent (no Raft) named name whose -retry-join
// lists the servers in order (it uses the first it reaches), and returns
// its address.
func (c *cluster) startClient(name string, order []int) string {
	c.t.Helper()
	ip := fmt.Sprintf("%s%d", c.prefix, 21+len(c.names)-3)
	cname := c.network + "-" + name
	args := []string{"run", "-d", "--label", label, "--name", cname, "--network", c.network, "--ip", ip, c.image,
		"agent", "-node", name, "-data-dir", "/data", "-bind", ip, "-client", "0.0.0.0"}
	for _, i := range order {
		args = append(args, "-retry-join", c.ips[i]+":8300")
	}
	mustDocker(c.t, args...)
	c.names = append(c.names, cname) // removed with the servers
	c.eventually("the client agent's HTTP API", 30*time.Second, func() bool {
		var leader string
		return c.getJSON(c.clientURL(ip, "/v1/status/leader"), &leader) && leader != ""
	})
	return ip
}

// clientURL is the HTTP API of the client agent at ip.
func (c *cluster) clientURL(ip, path string) string { return "http://" + ip + ":8500" + path }

// url is server i's HTTP API.
func (c *cluster) url(i int, path string) string { return "http://" + c.ips[i] + ":8500" + path }

// leader returns the index of the server every reachable server names as
// leader, or -1.
func (c *cluster) leader(among []int) int {
	if among == nil {
		among = []int{0, 1, 2}
	}
	var seen string
	for _, i := range among {
		var addr string
		if !c.getJSON(c.url(i, "/v1/status/leader"), &addr) || addr == "" || (seen != "" && addr != seen) {
			return -1
		}
		seen = addr
	}
	return slices.Index(c.ips, strings.TrimSuffix(seen, ":8300"))
}

// waitLeader waits until the servers among agree on a leader among them.
func (c *cluster) waitLeader(among []int) int {
	c.t.Helper()
	var l int
	c.eventually("a leader all of "+fmt.Sprint(among)+" agree on", 30*time.Second, func() bool {
		l = c.leader(among)
		return l >= 0 && (among == nil || slices.Contains(among, l))
	})
	return l
}

func (c *cluster) getJSON(url string, v any) bool {
	resp, err := c.http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// put writes key=value through server i and reports whether it was
// acknowledged.
func (c *cluster) put(i int, key, value string) error {
	return c.putURL(c.url(i, "/v1/kv/"+key), value)
}

// putURL sends a KV PUT and reports whether it was acknowledged.
func (c *cluster) putURL(url, value string) error {
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(value))
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(bytes.TrimSpace(body), []byte("true")) {
		return fmt.Errorf("PUT %s: %s: %s", url, resp.Status, body)
	}
	return nil
}

// index returns the X-Consul-Index of a GET of url.
func (c *cluster) index(url string) uint64 {
	c.t.Helper()
	resp, err := c.http.Get(url)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	idx, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil || idx == 0 {
		c.t.Fatalf("GET %s: X-Consul-Index %q", url, resp.Header.Get("X-Consul-Index"))
	}
	return idx
}

// staleKeys lists the keys under prefix that server i holds itself.
func (c *cluster) staleKeys(i int, prefix string) ([]string, bool) {
	var keys []string
	resp, err := c.http.Get(c.url(i, "/v1/kv/"+prefix+"?keys&stale"))
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, true
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&keys) != nil {
		return nil, false
	}
	slices.Sort(keys)
	return keys, true
}

// exec runs the beacon CLI inside server i's container (the image has
// nothing else to run).
func (c *cluster) exec(i int, args ...string) (string, error) {
	return docker(append([]string{"exec", c.names[i], "/beacon"}, args...)...)
}

// eventually polls cond until it holds or d passes.
func (c *cluster) eventually(what string, d time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// others returns the server indexes other than i.
func others(i int) []int {
	var o []int
	for j := range 3 {
		if j != i {
			o = append(o, j)
		}
	}
	return o
}

// writer puts keys prefix000000, prefix000001… through the servers in a
// loop, moving to the next server when one fails, and records the writes
// that were acknowledged (a failed one's outcome is unknown: not counted).
type writer struct {
	mu    sync.Mutex
	acked []string
	quit  chan struct{}
	done  chan struct{}
}

func (c *cluster) startWriter(prefix string) *writer {
	w := &writer{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		target := 0
		for seq := 0; ; seq++ {
			select {
			case <-w.quit:
				return
			default:
			}
			key := fmt.Sprintf("%s%06d", prefix, seq)
			if err := c.put(target, key, "v"); err != nil {
				target = (target + 1) % 3
				time.Sleep(20 * time.Millisecond)
				continue
			}
			w.mu.Lock()
			w.acked = append(w.acked, key)
			w.mu.Unlock()
		}
	}()
	return w
}

// stop ends the writes and returns the acknowledged keys.
func (w *writer) stop() []string {
	close(w.quit)
	<-w.done
	return w.acked
}

// requireAcked waits until every server holds every acknowledged key
// under prefix, and fails if some server still lacks one after 30 s. Too
// few acknowledged writes fail the test too: the faults hit no load.
func (c *cluster) requireAcked(prefix string, acked []string) {
	c.t.Helper()
	if len(acked) < 50 {
		c.t.Fatalf("only %d writes acknowledged: the faults hit no load", len(acked))
	}
	for i := range 3 {
		var missing []string
		deadline := time.Now().Add(30 * time.Second)
		for {
			keys, ok := c.staleKeys(i, prefix)
			missing = missing[:0]
			for _, k := range acked {
				if _, found := slices.BinarySearch(keys, k); !found {
					missing = append(missing, k)
				}
			}
			if ok && len(missing) == 0 {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("s%d lacks %d of %d acknowledged writes, e.g. %v", i+1, len(missing), len(acked), missing[:min(5, len(missing))])
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

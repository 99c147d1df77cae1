package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	sockaddr "github.com/hashicorp/go-sockaddr"

	"github.com/beacon-sd/beacon/agent/local"
	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/configs"
	"github.com/beacon-sd/beacon/health"
)

// startLocal opens this node's local state (services, checks, TTL state)
// and starts anti-entropy against cat.
func (a *Agent) startLocal(cat local.Catalog) error {
	id, err := nodeID(a.cfg.DataDir)
	if err != nil {
		return err
	}
	addr, err := nodeAddress(a.cfg)
	if err != nil {
		return err
	}
	lc := local.DefaultConfig()
	lc.Node = catalog.Node{ID: id, Node: a.cfg.NodeName, Address: addr, Datacenter: a.cfg.Datacenter, Meta: a.cfg.NodeMeta}
	if a.cfg.DataDir != "" {
		lc.Dir = filepath.Join(a.cfg.DataDir, "local")
	}
	lc.CheckUpdateInterval = a.cfg.CheckUpdateInterval
	lc.EnableScriptChecks = a.cfg.EnableScriptChecks
	lc.AliasSource = a.aliasSource()
	st, err := local.New(lc, cat, a.log.With("component", "local"))
	if err != nil {
		return err
	}
	a.local = st
	if err := a.applyConfigDefinitions(a.cfg); err != nil {
		return err
	}
	// Anti-entropy starts once a leader is known, so its first full sync
	// does not fail and back off while the cluster forms.
	a.startWG.Add(1)
	go func() {
		defer a.startWG.Done()
		if a.WaitLeader(a.stopCtx) == nil {
			st.Start()
		}
	}()
	return nil
}

// applyConfigDefinitions registers the services and checks defined in the
// configuration, and removes those a previous configuration defined that
// this one no longer does.
func (a *Agent) applyConfigDefinitions(cfg configs.Config) error {
	var errs []error
	keepSvc, keepCheck := map[string]bool{}, map[string]bool{}
	for _, d := range cfg.Services {
		svc, checks := serviceFromDefinition(d)
		keepSvc[svc.ID] = true
		if err := a.local.AddService(svc, checks, true); err != nil {
			errs = append(errs, fmt.Errorf("service %q: %w", svc.ID, err))
		}
	}
	for _, d := range cfg.Checks {
		c := checkFromDefinition(d)
		keepCheck[c.CheckID] = true
		if err := a.local.AddCheck(c); err != nil {
			errs = append(errs, fmt.Errorf("check %q: %w", c.CheckID, err))
		}
	}
	for id := range a.configServices {
		if !keepSvc[id] {
			_ = a.local.RemoveService(id)
		}
	}
	for id := range a.configChecks {
		if !keepCheck[id] {
			_ = a.local.RemoveCheck(id)
		}
	}
	a.configServices, a.configChecks = keepSvc, keepCheck
	return errors.Join(errs...)
}

func serviceFromDefinition(d configs.ServiceDefinition) (catalog.Service, []catalog.Check) {
	svc := catalog.Service{ID: d.ID, Service: d.Name, Tags: d.Tags, Address: d.Address, Port: d.Port, Meta: d.Meta,
		Weights: catalog.Weights{Passing: d.Weights.Passing, Warning: d.Weights.Warning}, EnableTagOverride: d.EnableTagOverride}
	if svc.ID == "" {
		svc.ID = svc.Service
	}
	checks := make([]catalog.Check, len(d.Checks))
	for i, cd := range d.Checks {
		checks[i] = checkFromDefinition(cd)
		checks[i].ServiceID = svc.ID
	}
	return svc, checks
}

func checkFromDefinition(d configs.CheckDefinition) catalog.Check {
	c := catalog.Check{CheckID: d.ID, Name: d.Name, Notes: d.Notes, ServiceID: d.ServiceID, Status: d.Status,
		Definition: catalog.CheckDefinition{
			Interval: d.Interval, Timeout: d.Timeout, TTL: d.TTL, HTTP: d.HTTP, Method: d.Method, Header: d.Header, Body: d.Body,
			TLSSkipVerify: d.TLSSkipVerify, TCP: d.TCP, UDP: d.UDP, GRPC: d.GRPC, GRPCUseTLS: d.GRPCUseTLS, H2PING: d.H2PING, Args: d.Args,
			AliasNode: d.AliasNode, AliasService: d.AliasService,
			DeregisterCriticalServiceAfter: d.DeregisterCriticalServiceAfter, SuccessBeforePassing: d.SuccessBeforePassing,
			FailuresBeforeWarning: d.FailuresBeforeWarning, FailuresBeforeCritical: d.FailuresBeforeCritical,
		}}
	if c.CheckID == "" && c.ServiceID == "" {
		c.CheckID = c.Name
	}
	c.Type = health.Type(c.Definition)
	return c
}

// reloadLocal replaces the services and checks that came from
// configuration files.
func (a *Agent) reloadLocal(cfg configs.Config) error {
	if a.local == nil {
		return nil
	}
	a.cfg.Services, a.cfg.Checks = cfg.Services, cfg.Checks
	return a.applyConfigDefinitions(cfg)
}

// nodeID returns the node's UUID, kept in <data-dir>/node-id so it
// survives restarts (a dev agent gets a fresh one).
func nodeID(dataDir string) (string, error) {
	var p string
	if dataDir != "" {
		p = filepath.Join(dataDir, "node-id")
		if b, err := os.ReadFile(p); err == nil {
			if id := strings.TrimSpace(string(b)); len(id) == 36 {
				return id, nil
			}
		}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	if p != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(id+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("write node id: %w", err)
		}
	}
	return id, nil
}

// nodeAddress is the address the node registers with: -advertise, else
// -bind unless it is a wildcard, else the machine's private IP.
func nodeAddress(cfg configs.Config) (string, error) {
	for _, a := range []string{cfg.Advertise, cfg.BindAddr} {
		if ip := net.ParseIP(a); ip != nil && !ip.IsUnspecified() {
			return a, nil
		}
	}
	ip, err := sockaddr.GetPrivateIP()
	if err != nil || ip == "" {
		return "127.0.0.1", nil
	}
	return ip, nil
}

// leaveCatalog deregisters this node after a graceful leave and records
// it as left (not failed): its services are gone with it, so they leave
// every answer at once.
func (a *Agent) leaveCatalog(ctx context.Context, cat local.Catalog) error {
	_, err := cat.Apply(ctx, &catalog.MemberRequest{Op: catalog.MemberLeave, Node: a.cfg.NodeName})
	return err
}

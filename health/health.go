package health

import (
	"strings"
	"unicode/utf8"

	"github.com/beacon-sd/beacon/catalog"
)

// Notify receives a check's new status (catalog.HealthPassing, …Warning or
// …Critical) and output. Runners call it from their own goroutine, never
// while holding a lock of their own, so it may take the caller's locks; it
// must not call the runner's Stop.
type Notify func(checkID, status, output string)

// IDs of the checks the agent manages itself, as Consul names them.
const (
	// NodeLivenessID is the node liveness check ("Node Liveness") every
	// agent keeps passing on its node.
	NodeLivenessID = "serfHealth"
	// NodeMaintenanceID is the critical check node maintenance mode adds.
	NodeMaintenanceID = "_node_maintenance"
	// ServiceMaintenancePrefix, followed by a service ID, is the ID of the
	// critical check service maintenance mode adds to that service.
	ServiceMaintenancePrefix = "_service_maintenance:"
)

// Check types, as Consul names them in a check's Type field.
const (
	TypeTTL    = "ttl"
	TypeHTTP   = "http"
	TypeTCP    = "tcp"
	TypeUDP    = "udp"
	TypeGRPC   = "grpc"
	TypeH2Ping = "h2ping"
	TypeScript = "script"
	TypeAlias  = "alias"
)

// Types returns the kinds of check def describes, in Consul's order of
// precedence. A valid definition has exactly one; none means a check
// whose status only the agent sets (e.g. maintenance).
func Types(def catalog.CheckDefinition) []string {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{TypeScript, len(def.Args) > 0},
		{TypeHTTP, def.HTTP != ""},
		{TypeTCP, def.TCP != ""},
		{TypeUDP, def.UDP != ""},
		{TypeTTL, def.TTL > 0},
		{TypeGRPC, def.GRPC != ""},
		{TypeH2Ping, def.H2PING != ""},
		{TypeAlias, def.AliasService != "" || def.AliasNode != ""},
	} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	return kinds
}

// Type is the first of Types(def), or "" when def describes no runner.
func Type(def catalog.CheckDefinition) string {
	if k := Types(def); len(k) > 0 {
		return k[0]
	}
	return ""
}

// IsMaintenance reports whether a check ID is one maintenance mode adds.
func IsMaintenance(checkID string) bool {
	return checkID == NodeMaintenanceID || strings.HasPrefix(checkID, ServiceMaintenancePrefix)
}

// AggregatedStatus is the combined status of a service's checks, as
// Consul's api.HealthChecks.AggregatedStatus computes it: "maintenance" if
// a maintenance check is present, else the worst status, and passing when
// there are no checks.
func AggregatedStatus(checks []*catalog.Check) string {
	var warning, critical, maintenance bool
	for _, c := range checks {
		if IsMaintenance(c.CheckID) {
			maintenance = true
			continue
		}
		switch c.Status {
		case catalog.HealthPassing:
		case catalog.HealthWarning:
			warning = true
		case catalog.HealthCritical:
			critical = true
		default:
			return ""
		}
	}
	switch {
	case maintenance:
		return catalog.HealthMaintenance
	case critical:
		return catalog.HealthCritical
	case warning:
		return catalog.HealthWarning
	}
	return catalog.HealthPassing
}

// Truncate cuts a check's output to at most catalog.MaxCheckOutput bytes,
// at a UTF-8 boundary.
func Truncate(s string) string {
	if len(s) <= catalog.MaxCheckOutput {
		return s
	}
	cut := catalog.MaxCheckOutput
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

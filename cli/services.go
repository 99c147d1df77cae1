package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

var servicesCommands = []*command{{
	name:     "services register",
	synopsis: "Registers a service with the local agent",
	usage:    "[options] [FILE]",
	help: `
  Registers a service with the agent (PUT /v1/agent/service/register), either
  from FILE or from flags.

  FILE is JSON: {"service": {...}}, {"services": [{...}, ...]} or a bare
  definition. Keys may be written as in the API (Name, Port, Check...) or in
  Consul's configuration style (name, port, check, deregister_critical_service_after...).

      $ beacon services register web.json
      $ beacon services register -name web -id web-1 -port 80 -address 10.0.0.5 -tag v1 -meta version=1`,
	run: runServicesRegister,
}, {
	name:     "services deregister",
	synopsis: "Deregisters a service from the local agent",
	usage:    "[options] ID",
	help: `
  Deregisters the service with the given ID from the agent
  (PUT /v1/agent/service/deregister/ID). The ID may also be given with -id.`,
	run: runServicesDeregister,
}}

// serviceFlags are the definition flags of "services register".
type serviceFlags struct {
	name, id, address string
	port              int
	tags              stringList
	meta              metaFlag
}

func runServicesRegister(inv *invocation, args []string) int {
	sf := serviceFlags{meta: metaFlag{}}
	inv.fs.StringVar(&sf.name, "name", "", "The service's name (required without FILE).")
	inv.fs.StringVar(&sf.id, "id", "", "The service's ID (default: the name).")
	inv.fs.StringVar(&sf.address, "address", "", "The service's address (default: the node's).")
	inv.fs.IntVar(&sf.port, "port", 0, "The service's port.")
	inv.fs.Var(&sf.tags, "tag", "A tag; repeat for several.")
	inv.fs.Var(sf.meta, "meta", "Metadata as key=value; repeat for several.")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 1); !ok {
		return code
	}
	defs, err := serviceDefinitions(args, sf)
	if err != nil {
		return inv.usageError(err.Error())
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	for _, def := range defs {
		if _, err := c.putJSON("/v1/agent/service/register", def); err != nil {
			return inv.fail("registering service", err)
		}
		inv.printf("Registered service: %s\n", definitionName(def))
	}
	return 0
}

// serviceDefinitions returns the definitions to register: FILE's or the
// one the flags describe.
func serviceDefinitions(args []string, sf serviceFlags) ([]map[string]any, error) {
	fromFlags := sf.name != "" || sf.id != "" || sf.address != "" || sf.port != 0 || len(sf.tags) > 0 || len(sf.meta) > 0
	if len(args) == 1 {
		if fromFlags {
			return nil, errors.New("give either FILE or definition flags, not both")
		}
		b, err := os.ReadFile(args[0])
		if err != nil {
			return nil, err
		}
		return parseServiceFile(b)
	}
	if sf.name == "" {
		return nil, errors.New("missing FILE or -name")
	}
	def := map[string]any{"Name": sf.name}
	setIf(def, "ID", sf.id, sf.id != "")
	setIf(def, "Address", sf.address, sf.address != "")
	setIf(def, "Port", sf.port, sf.port != 0)
	setIf(def, "Tags", []string(sf.tags), len(sf.tags) > 0)
	setIf(def, "Meta", map[string]string(sf.meta), len(sf.meta) > 0)
	return []map[string]any{def}, nil
}

func setIf(m map[string]any, k string, v any, cond bool) {
	if cond {
		m[k] = v
	}
}

// parseServiceFile accepts {"service":{…}}, {"services":[…]} or a bare
// definition, and returns the definitions with API-style keys.
func parseServiceFile(b []byte) ([]map[string]any, error) {
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("service file: %w", err)
	}
	var raw []any
	for k, v := range top {
		switch strings.ToLower(k) {
		case "service":
			raw = append(raw, v)
		case "services":
			list, ok := v.([]any)
			if !ok {
				return nil, errors.New(`service file: "services" must be a list`)
			}
			raw = append(raw, list...)
		}
	}
	if raw == nil {
		raw = []any{top}
	}
	defs := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		def, ok := normalizeKeys(r).(map[string]any)
		if !ok {
			return nil, errors.New("service file: a service definition must be an object")
		}
		if name, _ := def["Name"].(string); name == "" {
			return nil, errors.New("service file: a service definition has no name")
		}
		defs = append(defs, def)
	}
	return defs, nil
}

// definitionName is how "Registered service: …" names a definition.
func definitionName(def map[string]any) string {
	name, _ := def["Name"].(string)
	return name
}

// initialisms are key parts written in capitals in the API (check_id →
// CheckID, grpc_use_tls → GRPCUseTLS).
var initialisms = map[string]string{
	"id": "ID", "http": "HTTP", "tcp": "TCP", "udp": "UDP", "ttl": "TTL",
	"grpc": "GRPC", "tls": "TLS", "h2ping": "H2PING", "ip": "IP", "url": "URL",
}

// opaqueMaps hold user data whose keys must not be rewritten.
var opaqueMaps = map[string]bool{"Meta": true, "Header": true, "TaggedAddresses": true, "Config": true}

// normalizeKeys rewrites object keys from Consul's configuration style
// (snake_case) to the API's (CamelCase), except inside user-data maps.
func normalizeKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, val := range v {
			nk := camelKey(k)
			if opaqueMaps[nk] {
				out[nk] = val
			} else {
				out[nk] = normalizeKeys(val)
			}
		}
		return out
	case []any:
		for i := range v {
			v[i] = normalizeKeys(v[i])
		}
	}
	return v
}

// camelKey turns "deregister_critical_service_after" into
// "DeregisterCriticalServiceAfter" and leaves "CheckID" alone.
func camelKey(k string) string {
	var b strings.Builder
	for _, part := range strings.Split(k, "_") {
		if part == "" {
			continue
		}
		if up, ok := initialisms[strings.ToLower(part)]; ok {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func runServicesDeregister(inv *invocation, args []string) int {
	var id string
	inv.fs.StringVar(&id, "id", "", "The ID of the service to deregister.")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 1); !ok {
		return code
	}
	switch {
	case len(args) == 1 && id != "":
		return inv.usageError("give the ID either as an argument or with -id, not both")
	case len(args) == 1:
		id = args[0]
	case id == "":
		return inv.usageError("missing service ID")
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	if _, err := c.put("/v1/agent/service/deregister/"+id, nil, nil); err != nil {
		return inv.fail("deregistering service", err)
	}
	inv.printf("Deregistered service: %s\n", id)
	return 0
}

package local

import (
	"maps"
	"reflect"
	"slices"

	"github.com/beacon-sd/beacon/catalog"
)

// The catalog stores entities through msgpack, which may turn an empty
// slice or map into nil; comparisons treat the two as equal.

func nodeEqual(a, b catalog.Node) bool {
	return a.ID == b.ID && a.Node == b.Node && a.Address == b.Address && a.Datacenter == b.Datacenter &&
		mapEqual(a.TaggedAddresses, b.TaggedAddresses) && mapEqual(a.Meta, b.Meta)
}

// serviceEqual compares what the agent defines of a service (not Node or
// the Raft indexes).
func serviceEqual(a, b catalog.Service) bool {
	return a.ID == b.ID && a.Service == b.Service && slices.Equal(a.Tags, b.Tags) &&
		a.Address == b.Address && a.Port == b.Port && mapEqual(a.Meta, b.Meta) &&
		a.Weights == b.Weights && a.EnableTagOverride == b.EnableTagOverride
}

// checkEqual compares what the agent defines of a check (not Node,
// ServiceName or ServiceTags, which the catalog fills in, nor the Raft
// indexes). With ignoreOutput, outputs may differ.
func checkEqual(a, b catalog.Check, ignoreOutput bool) bool {
	if a.CheckID != b.CheckID || a.Name != b.Name || a.Status != b.Status || a.Notes != b.Notes ||
		a.ServiceID != b.ServiceID || a.Type != b.Type || (!ignoreOutput && a.Output != b.Output) {
		return false
	}
	return reflect.DeepEqual(normalDefinition(a.Definition), normalDefinition(b.Definition))
}

// statusOnlyDiffers reports whether b differs from a in Status
// or Output only: then a CheckStatusRequest is enough to sync it.
func statusOnlyDiffers(a, b catalog.Check) bool {
	a.Status, a.Output = b.Status, b.Output
	return checkEqual(a, b, false)
}

func normalDefinition(d catalog.CheckDefinition) catalog.CheckDefinition {
	if len(d.Args) == 0 {
		d.Args = nil
	}
	if len(d.Header) == 0 {
		d.Header = nil
		return d
	}
	h := make(map[string][]string, len(d.Header))
	for k, v := range d.Header {
		if len(v) == 0 {
			v = nil
		}
		h[k] = v
	}
	d.Header = h
	return d
}

func mapEqual(a, b map[string]string) bool { return maps.Equal(a, b) }

func cloneNode(n catalog.Node) catalog.Node {
	n.TaggedAddresses = maps.Clone(n.TaggedAddresses)
	n.Meta = maps.Clone(n.Meta)
	return n
}

func cloneService(s catalog.Service) *catalog.Service {
	s.Tags = slices.Clone(s.Tags)
	s.Meta = maps.Clone(s.Meta)
	return &s
}

func cloneCheck(c catalog.Check) *catalog.Check {
	c.ServiceTags = slices.Clone(c.ServiceTags)
	c.Definition.Args = slices.Clone(c.Definition.Args)
	if c.Definition.Header != nil {
		h := make(map[string][]string, len(c.Definition.Header))
		for k, v := range c.Definition.Header {
			h[k] = slices.Clone(v)
		}
		c.Definition.Header = h
	}
	return &c
}

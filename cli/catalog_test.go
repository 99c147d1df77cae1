package cli

import (
	"net/http"
	"testing"
)

func TestCatalog(t *testing.T) {
	services := map[string]http.HandlerFunc{"GET /v1/catalog/services": replyJSON(`{"web":["v2","v1"],"consul":[],"db":["primary"]}`)}
	nodes := map[string]http.HandlerFunc{"GET /v1/catalog/nodes": replyJSON(`[
 {"ID":"5e4b3a2c-1111-2222-3333-444455556666","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","Meta":{"b":"2","a":"1"}},
 {"ID":"","Node":"n2","Address":"10.0.0.2","Datacenter":"dc1"}]`)}
	instances := map[string]http.HandlerFunc{"GET /v1/catalog/service/web": replyJSON(`[
 {"Node":"n1","Address":"10.0.0.1","ServiceID":"web-1","ServiceName":"web","ServiceAddress":"","ServicePort":80,"ServiceTags":["v1","canary"]},
 {"Node":"n2","Address":"10.0.0.2","ServiceID":"web-2","ServiceName":"web","ServiceAddress":"172.16.0.9","ServicePort":8080,"ServiceTags":[]}]`)}
	runCases(t, []cliCase{
		{name: "services", args: []string{"catalog", "services"}, routes: services,
			wantOut: "consul\ndb\nweb\n", wantReqs: []string{"GET /v1/catalog/services"}},
		{name: "services -tags", args: []string{"catalog", "services", "-tags"}, routes: services,
			wantOut: "consul  \ndb      primary\nweb     v1,v2\n"},
		{name: "services json", args: []string{"catalog", "services", "-format", "json"}, routes: services,
			outHas: []string{`"web": [`, `"consul": []`}},
		{name: "nodes", args: []string{"catalog", "nodes"}, routes: nodes,
			wantOut: "Node  ID        Address   DC\nn1    5e4b3a2c  10.0.0.1  dc1\nn2              10.0.0.2  dc1\n"},
		{name: "nodes -detailed", args: []string{"catalog", "nodes", "-detailed"}, routes: nodes,
			outHas: []string{"5e4b3a2c-1111-2222-3333-444455556666", "a=1,b=2"}},
		{name: "nodes json", args: []string{"catalog", "nodes", "-format", "json", "-stale"}, routes: nodes,
			outHas: []string{`"Node": "n1"`}, wantReqs: []string{"GET /v1/catalog/nodes?stale"}},
		{name: "service", args: []string{"catalog", "service", "web"}, routes: instances,
			wantReqs: []string{"GET /v1/catalog/service/web"},
			wantOut: "" +
				"Node  ServiceID  Address     Port  Tags\n" +
				"n1    web-1      10.0.0.1    80    v1,canary\n" +
				"n2    web-2      172.16.0.9  8080  \n"},
		{name: "service -tag", args: []string{"catalog", "service", "-tag", "v1", "web"}, routes: instances,
			outHas: []string{"web-1"}, wantReqs: []string{"GET /v1/catalog/service/web?tag=v1"}},
		{name: "service json", args: []string{"catalog", "service", "-format", "json", "web"}, routes: instances,
			outHas: []string{`"ServiceID": "web-2"`}},
		{name: "service unknown", args: []string{"catalog", "service", "nope"},
			routes:  map[string]http.HandlerFunc{"GET /v1/catalog/service/nope": replyJSON(`[]`)},
			wantOut: "Node  ServiceID  Address  Port  Tags\n"},
		{name: "service needs a name", args: []string{"catalog", "service"}, wantCode: 1,
			errHas: []string{"missing arguments", "Usage: beacon catalog service [options] NAME"}},
		{name: "service flag after name is an argument", args: []string{"catalog", "service", "web", "-tag", "v1"}, wantCode: 1,
			errHas: []string{"too many arguments"}},
		{name: "services 404", args: []string{"catalog", "services"},
			routes: map[string]http.HandlerFunc{"*": reply(404, "nope")}, wantCode: 1,
			errHas: []string{"Error listing services: Unexpected response code: 404 (nope)"}},
	})
}

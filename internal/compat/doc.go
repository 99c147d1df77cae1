// Package compat holds the compatibility suite: tests that drive real
// beacon agents (a dev agent and a 3-server cluster with a client agent)
// only through the official Consul Go client, github.com/hashicorp/consul/api,
// the oracle for beacon's /v1 API.
package compat

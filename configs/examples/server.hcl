# One member of a three-server cluster (10.0.0.11-13). Copy to each server,
# changing node_name and advertise_addr, then:
#
#   beacon agent -config-file /etc/beacon.d/server.hcl
#
# The servers wait until all three have joined, then elect a leader.

node_name  = "server-1"
datacenter = "dc1"
data_dir   = "/var/lib/beacon"

server           = true
bootstrap_expect = 3

# Addresses may be go-sockaddr templates, e.g. "{{ GetPrivateIP }}" or
# "{{ GetInterfaceIP \"eth0\" }}".
bind_addr      = "0.0.0.0"
advertise_addr = "10.0.0.11"
client_addr    = "127.0.0.1 10.0.0.11"

# Other servers' server ports (HOST:PORT); joining yourself is harmless.
retry_join = ["10.0.0.11:8300", "10.0.0.12:8300", "10.0.0.13:8300"]

ports {
  server = 8300
  http   = 8500
  dns    = 8600
}

raft_multiplier    = 1
leave_on_terminate = true

# Node liveness: an agent that has not renewed its lease with the leader for
# lease_ttl is marked failed (agents renew every third of it). The leader
# writes at most lease_expiry_rate expiries per second.
# A node failed for reconnect_timeout (at least 8h) is deregistered.
lease_ttl         = "10s"
lease_expiry_rate = 1000
reconnect_timeout = "72h"

node_meta = {
  rack = "r1"
}

limits {
  http_max_conns_per_client = 200
  request_rate              = 100
  request_burst             = 200
}

telemetry {
  disable_hostname          = true
  prometheus_retention_time = "60s"
}

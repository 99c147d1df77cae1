# A client agent on an application host: it joins the servers, registers
# the local web service and runs its health checks.
#
#   beacon agent -config-file /etc/beacon.d/client.hcl
#
# client.json is the same configuration in JSON.

node_name  = "web-1"
datacenter = "dc1"
data_dir   = "/var/lib/beacon"
server     = false

bind_addr      = "0.0.0.0"
advertise_addr = "10.0.1.21"
client_addr    = "127.0.0.1"

retry_join = ["10.0.0.11:8300", "10.0.0.12:8300", "10.0.0.13:8300"]

node_meta = {
  rack = "r7"
}

check_update_interval = "5m"

service {
  id   = "web-1"
  name = "web"
  tags = ["v1", "primary"]
  port = 8080
  meta = {
    version = "1.4.2"
  }

  weights {
    passing = 10
    warning = 1
  }

  check {
    id       = "web-http"
    name     = "web HTTP health"
    http     = "http://127.0.0.1:8080/health"
    method   = "GET"
    header   = { Accept = ["application/json"] }
    interval = "10s"
    timeout  = "2s"

    deregister_critical_service_after = "30m"
    failures_before_critical          = 3
  }
}

# A node-level check: the host's SSH port.
check {
  id       = "ssh"
  name     = "SSH reachable"
  tcp      = "127.0.0.1:22"
  interval = "30s"
}

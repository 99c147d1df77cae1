# A single-node development agent. Everything lives in memory.
#
#   beacon agent -dev -config-file configs/examples/dev.hcl
#
# -dev makes the agent a server that bootstraps alone with no data_dir;
# ports, node name and addresses here still apply.

node_name  = "dev"
datacenter = "dc1"
log_level  = "debug"

enable_debug         = true # /debug/pprof on the HTTP port
enable_script_checks = true
ui                   = true

ports {
  http = 8500
  dns  = 8600
}

service {
  name = "web"
  port = 8080
  tags = ["dev"]

  check {
    name = "web alive"
    ttl  = "30s"
  }
}

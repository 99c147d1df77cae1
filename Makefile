# beacon — build, run and test. `make dev` and `make test` are all a
# newcomer needs; both work on a fresh machine with Go installed.

GO        ?= go
BIN       := bin/beacon
PKGS      := ./...
# Packages whose concurrency matters run under the race detector.
RACE_PKGS := ./catalog/... ./raftstore/... ./agent/... ./health/... ./internal/...

.PHONY: all build dev test test-docker test-race test-short fuzz bench soak lint clean tools

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/beacon

## dev: build and run a single-node dev agent, every listener on 127.0.0.1.
dev: build
	./$(BIN) agent -dev

## test: the whole suite (vet, unit, race, cluster, crash and linearizability tests).
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -race -timeout 15m $(RACE_PKGS)

## test-docker: three servers in containers FROM scratch through real
## faults (network cut, SIGKILL under load); needs a Docker engine.
test-docker:
	BEACON_DOCKER=1 $(GO) test -count=1 -timeout 10m -v ./internal/dockertest/

## fuzz: run every fuzz target for a while (FUZZTIME each).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./catalog -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)
	$(GO) test ./configs -run '^$$' -fuzz FuzzLoadFile -fuzztime $(FUZZTIME) -fuzzminimizetime 2s
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzCatalogRegisterBody -fuzztime $(FUZZTIME)
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzCatalogDeregisterBody -fuzztime $(FUZZTIME)
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzAgentServiceRegisterBody -fuzztime $(FUZZTIME)
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzAgentCheckRegisterBody -fuzztime $(FUZZTIME)
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzAgentCheckUpdateBody -fuzztime $(FUZZTIME)
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzTxnBody -fuzztime $(FUZZTIME)
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzSessionCreateBody -fuzztime $(FUZZTIME)
	$(GO) test ./agent/httpapi -run '^$$' -fuzz FuzzKVPutQuery -fuzztime $(FUZZTIME)

## bench: performance figures, printed as tables (see docs/PERFORMANCE.md).
## SCALE_AGENTS: simulated agents per scalebench row (an idle row runs first).
SCALE_AGENTS ?= 1000,5000
bench: build tools
	$(GO) run ./internal/bench/storebench
	$(GO) run ./internal/bench/httpbench
	$(GO) run ./internal/bench/scalebench -agents=$(SCALE_AGENTS)

## soak: long randomized fault runs (not part of make test).
soak:
	BEACON_SOAK=1 $(GO) test -count=1 -timeout 60m -run 'Linearizable|Crash' -v ./raftstore/

clean:
	rm -rf bin

## tools: programs the benchmarks and DNS tests drive (Debian packages).
tools:
	@command -v wrk >/dev/null && command -v dig >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk dnsutils >/dev/null)

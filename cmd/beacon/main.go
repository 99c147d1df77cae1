package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/beacon-sd/beacon/agent"
	"github.com/beacon-sd/beacon/cli"
	"github.com/beacon-sd/beacon/configs"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 1
	}
	switch args[0] {
	case "agent":
		return runAgent(args[1:], stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "beacon %s\n", version)
		return 0
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	return cli.Run(args, stdout, stderr, os.Getenv)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: beacon <command> [flags]

Commands:
  agent     run an agent (-dev for a single-node dev agent)
  version   print the version
`)
}

func runAgent(args []string, stderr io.Writer) int {
	cfg, err := configs.LoadArgs(args, stderr)
	if errors.Is(err, configs.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "beacon agent: %v\n", err)
		return 1
	}
	level, _ := configs.ParseLogLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: slog.Level(level)}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if cfg.LogJSON {
		h = slog.NewJSONHandler(stderr, opts)
	}
	log := slog.New(h)
	start := time.Now()
	a, err := agent.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "beacon agent: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Dev {
		if err := a.WaitLeader(ctx); err == nil {
			log.Info("dev agent ready", "node", cfg.NodeName, "server_addr", a.Server().Self().Addr, "startup", time.Since(start).Round(time.Millisecond))
		}
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx, true); err != nil {
		fmt.Fprintf(stderr, "beacon agent: shutdown: %v\n", err)
		return 1
	}
	return 0
}

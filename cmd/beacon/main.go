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
		if len(args) > 1 && args[1] != "agent" {
			return cli.Run(append([]string{"help"}, args[1:]...), stdout, stderr, os.Getenv)
		}
		usage(stdout)
		return cli.Run([]string{"help"}, stdout, stderr, os.Getenv)
	}
	return cli.Run(args, stdout, stderr, os.Getenv)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Agent: beacon agent [flags]   run an agent (-dev for a single-node dev agent; beacon agent -h lists the flags)
       beacon version         print the version

`)
}

func runAgent(args []string, stderr io.Writer) int {
	cfg, err := configs.Load(args, stderr)
	if errors.Is(err, configs.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "beacon agent: %v\n", err)
		return 1
	}
	level, _ := configs.ParseLogLevel(cfg.LogLevel)
	var lv slog.LevelVar
	lv.Set(slog.Level(level))
	opts := &slog.HandlerOptions{Level: &lv}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if cfg.LogJSON {
		h = slog.NewJSONHandler(stderr, opts)
	}
	log := slog.New(h)
	// Signals are caught from the start: a SIGHUP or SIGTERM that arrives
	// while the agent is still starting must not kill it uncleanly.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	agent.Version = version
	a, err := agent.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "beacon agent: %v\n", err)
		return 1
	}
	if cfg.Dev {
		if err := a.WaitLeader(ctx); err == nil {
			log.Info("dev agent ready", "node", cfg.NodeName, "http_addr", a.HTTPAddr(), "startup", time.Since(start).Round(time.Millisecond))
		}
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-a.LeaveRequested():
			done = true
		case <-hup:
			reload(a, args, &lv, log, stderr)
		}
	}
	// From here a second SIGINT or SIGTERM kills the process at once, as
	// the default handlers do: an operator who asks twice means it.
	stop()
	log.Info("shutting down", "leave", cfg.LeaveOnTerminate)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := shutdownBounded(sctx, shutdownGrace, a.Shutdown, cfg.LeaveOnTerminate); err != nil {
		fmt.Fprintf(stderr, "beacon agent: shutdown: %v\n", err)
		return 1
	}
	return 0
}

// shutdownTimeout bounds a graceful leave (deregistration, leadership
// hand-off); shutdownGrace is how much longer the process waits for the
// rest of the shutdown once that has passed.
const (
	shutdownTimeout = 15 * time.Second
	shutdownGrace   = 5 * time.Second
)

// shutdownBounded runs shutdown and stops waiting for it grace after ctx
// is done. A component that never returns (a raft shutdown stuck on a
// peer, say) must not keep the process alive after SIGTERM: exiting then
// leaves what a crash would, which the stores recover from (the raft log
// is synced; the catalog replays it).
func shutdownBounded(ctx context.Context, grace time.Duration, shutdown func(context.Context, bool) error, leave bool) error {
	done := make(chan error, 1)
	go func() { done <- shutdown(ctx, leave) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("not finished %v after its deadline; exiting without it", grace)
	}
}

// reload re-reads the configuration (SIGHUP) and applies what can change
// while running: the log level, services and checks from config files.
func reload(a *agent.Agent, args []string, lv *slog.LevelVar, log *slog.Logger, stderr io.Writer) {
	cfg, err := configs.Load(args, stderr)
	if err != nil {
		log.Error("reload: configuration rejected, keeping the running one", "error", err)
		return
	}
	level, _ := configs.ParseLogLevel(cfg.LogLevel)
	lv.Set(slog.Level(level))
	if err := a.Reload(cfg); err != nil {
		log.Error("reload failed", "error", err)
		return
	}
	log.Info("configuration reloaded", "files", cfg.Files())
}

// Package hclogslog is an hclog.Logger backed by a *slog.Logger, so that
// hashicorp/raft (which logs through hclog) writes to the same slog handler
// as the rest of beacon.
//
// Names given with Named become a "component" attribute, hclog's Trace
// level becomes slog.LevelDebug-4, and an optional *slog.LevelVar gives a
// level that SetLevel can change at run time on top of the handler's own.
package hclogslog

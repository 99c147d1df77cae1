package hclogslog

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Slog levels of the hclog levels. Info, Warn and Error are slog's own.
const (
	// LevelTrace is the slog level of hclog's Trace: below slog's Debug.
	LevelTrace = slog.LevelDebug - 4
	// levelOff is above every level a record is logged at.
	levelOff = slog.LevelError + 1000
)

// ComponentKey is the attribute that carries a logger's name.
const ComponentKey = "component"

// Logger is an hclog.Logger that writes slog records. Loggers derived from
// one with With, Named or ResetNamed share its level, so SetLevel on any of
// them changes all of them. A Logger is safe for concurrent use.
type Logger struct {
	base    *slog.Logger   // the logger New was given, without name or implied args
	sl      *slog.Logger   // base with the component and implied args applied
	name    string         // dotted name, "" for none
	implied []any          // hclog key/value pairs added by With
	level   *slog.LevelVar // records below it are dropped before the handler sees them
}

var _ hclog.Logger = (*Logger)(nil)

// New returns an hclog.Logger named name ("" for none) that writes to l
// and leaves level filtering to l's handler until SetLevel is called. A nil
// l discards everything.
func New(l *slog.Logger, name string) *Logger {
	return NewWithLevel(l, name, nil)
}

// NewWithLevel is New with a settable level: records below level are
// dropped before l's handler sees them, and SetLevel changes level. A nil
// level is a fresh one that lets every record through to the handler.
func NewWithLevel(l *slog.Logger, name string, level *slog.LevelVar) *Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if level == nil {
		level = new(slog.LevelVar)
		level.Set(LevelTrace)
	}
	root := &Logger{base: l, sl: l, level: level}
	if name == "" {
		return root
	}
	return root.ResetNamed(name).(*Logger)
}

// toSlog maps an hclog level to a slog level. NoLevel counts as Info, as
// hclog's default level is Info.
func toSlog(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return LevelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	case hclog.Off:
		return levelOff
	}
	return slog.LevelInfo
}

// callerPC returns the program counter of the code that called the public
// Logger method that called callerPC, for the handler's source attribute.
func callerPC() uintptr {
	var pcs [1]uintptr
	runtime.Callers(3, pcs[:]) // Callers, callerPC, the Logger method
	return pcs[0]
}

func (l *Logger) enabled(level slog.Level) bool {
	return level >= l.level.Level() && l.sl.Handler().Enabled(context.Background(), level)
}

// emit sends one record to the handler if level is enabled.
func (l *Logger) emit(level slog.Level, pc uintptr, msg string, args []any) {
	if !l.enabled(level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, pc)
	r.Add(convertArgs(args)...)
	_ = l.sl.Handler().Handle(context.Background(), r)
}

// convertArgs turns hclog key/value pairs into slog attributes: a key that
// is not a string is formatted, a trailing key without a value becomes
// hclog's EXTRA_VALUE_AT_END, and an hclog.Format value is formatted.
func convertArgs(args []any) []any {
	out := make([]any, 0, (len(args)+1)/2)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			out = append(out, slog.Any("EXTRA_VALUE_AT_END", args[i]))
			break
		}
		key, ok := args[i].(string)
		if !ok {
			key = fmt.Sprint(args[i])
		}
		v := args[i+1]
		if f, ok := v.(hclog.Format); ok && len(f) > 0 {
			if format, ok := f[0].(string); ok {
				v = fmt.Sprintf(format, f[1:]...)
			}
		}
		out = append(out, slog.Any(key, v))
	}
	return out
}

// Log emits msg at level with key/value args.
func (l *Logger) Log(level hclog.Level, msg string, args ...any) {
	l.emit(toSlog(level), callerPC(), msg, args)
}

// Trace emits msg at LevelTrace.
func (l *Logger) Trace(msg string, args ...any) { l.emit(LevelTrace, callerPC(), msg, args) }

// Debug emits msg at slog.LevelDebug.
func (l *Logger) Debug(msg string, args ...any) { l.emit(slog.LevelDebug, callerPC(), msg, args) }

// Info emits msg at slog.LevelInfo.
func (l *Logger) Info(msg string, args ...any) { l.emit(slog.LevelInfo, callerPC(), msg, args) }

// Warn emits msg at slog.LevelWarn.
func (l *Logger) Warn(msg string, args ...any) { l.emit(slog.LevelWarn, callerPC(), msg, args) }

// Error emits msg at slog.LevelError.
func (l *Logger) Error(msg string, args ...any) { l.emit(slog.LevelError, callerPC(), msg, args) }

// IsTrace reports whether Trace records would be emitted.
func (l *Logger) IsTrace() bool { return l.enabled(LevelTrace) }

// IsDebug reports whether Debug records would be emitted.
func (l *Logger) IsDebug() bool { return l.enabled(slog.LevelDebug) }

// IsInfo reports whether Info records would be emitted.
func (l *Logger) IsInfo() bool { return l.enabled(slog.LevelInfo) }

// IsWarn reports whether Warn records would be emitted.
func (l *Logger) IsWarn() bool { return l.enabled(slog.LevelWarn) }

// IsError reports whether Error records would be emitted.
func (l *Logger) IsError() bool { return l.enabled(slog.LevelError) }

// ImpliedArgs returns the key/value pairs added with With.
func (l *Logger) ImpliedArgs() []any { return append([]any(nil), l.implied...) }

// With returns a Logger that adds args to every record.
func (l *Logger) With(args ...any) hclog.Logger {
	c := *l
	c.implied = append(append([]any(nil), l.implied...), args...)
	c.sl = l.sl.With(convertArgs(args)...)
	return &c
}

// Name returns the logger's dotted name, "" if it has none.
func (l *Logger) Name() string { return l.name }

// Named returns a Logger whose name is this one's with name appended
// (dot-separated), as hclog does.
func (l *Logger) Named(name string) hclog.Logger {
	if l.name != "" {
		name = l.name + "." + name
	}
	return l.ResetNamed(name)
}

// ResetNamed returns a Logger named name, whatever this one's name is.
func (l *Logger) ResetNamed(name string) hclog.Logger {
	c := *l
	c.name = name
	c.sl = l.base
	if name != "" {
		c.sl = c.sl.With(ComponentKey, name)
	}
	c.sl = c.sl.With(convertArgs(l.implied)...)
	return &c
}

// SetLevel changes the level of this logger and every logger sharing its
// level. NoLevel counts as Info.
func (l *Logger) SetLevel(level hclog.Level) { l.level.Set(toSlog(level)) }

// GetLevel returns the lowest hclog level that would be emitted, taking
// both the settable level and the handler into account; Off if none is.
func (l *Logger) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if l.enabled(toSlog(lv)) {
			return lv
		}
	}
	return hclog.Off
}

// StandardLogger returns a *log.Logger writing through l (see
// StandardWriter for opts).
func (l *Logger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

// StandardWriter returns a writer that logs each write as one record: at
// opts.ForceLevel if set, else at the level of a leading "[WARN]"-style tag
// if opts.InferLevels is set, else at Info.
func (l *Logger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	w := &stdWriter{l: l}
	if opts != nil {
		w.opts = *opts
	}
	return w
}

type stdWriter struct {
	l    *Logger
	opts hclog.StandardLoggerOptions
}

// timestampRE matches characters that start a timestamp, as hclog's own
// adapter does.
var timestampRE = regexp.MustCompile(`^[\d\s:/.+\-TZ]*`)

var levelTags = []struct {
	tag   string
	level hclog.Level
}{
	{"[TRACE]", hclog.Trace}, {"[DEBUG]", hclog.Debug}, {"[INFO]", hclog.Info},
	{"[WARN]", hclog.Warn}, {"[ERROR]", hclog.Error}, {"[ERR]", hclog.Error},
}

func (w *stdWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), " \t\n")
	level := hclog.Info
	if w.opts.ForceLevel != hclog.NoLevel || w.opts.InferLevels {
		if w.opts.ForceLevel == hclog.NoLevel && w.opts.InferLevelsWithTimestamp {
			msg = msg[len(timestampRE.FindString(msg)):]
		}
		for _, t := range levelTags {
			if rest, ok := strings.CutPrefix(msg, t.tag); ok {
				level, msg = t.level, strings.TrimSpace(rest)
				break
			}
		}
		if w.opts.ForceLevel != hclog.NoLevel {
			level = w.opts.ForceLevel
		}
	}
	w.l.emit(toSlog(level), 0, msg, nil)
	return len(p), nil
}

package configs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Load builds the agent's Config, Consul style: Default, then -dev's
// defaults, then the files named by -config-file and -config-dir in the
// order given (a later file overrides an earlier one field by field; lists
// such as retry_join and services append, node_meta merges by key), then
// the flags that were set. -dev then forces a single in-memory server.
// Usage and flag errors are written to out; every error names its flag, or
// its file, line and key. To reload, call Load again with the same args.
func Load(args []string, out io.Writer) (Config, error) {
	f, err := parseFlags(args, out)
	if err != nil {
		return Default(), err
	}
	c := Default()
	if f.dev {
		devDefaults(&c)
	}
	var errs []error
	for _, src := range f.sources {
		errs = append(errs, loadSource(&c, src))
		if src.dir {
			c.ConfigDirs = append(c.ConfigDirs, src.path)
		} else {
			c.ConfigFiles = append(c.ConfigFiles, src.path)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	for _, set := range f.apply {
		set(&c)
	}
	if f.dev {
		devForce(&c)
	}
	return c, c.Validate()
}

// LoadArgs is Load, kept for callers written before configuration files.
func LoadArgs(args []string, out io.Writer) (Config, error) { return Load(args, out) }

// loadSource applies a -config-file, or every *.hcl and *.json file of a
// -config-dir in lexical order, onto c.
func loadSource(c *Config, src source) error {
	paths := []string{src.path}
	if src.dir {
		var err error
		if paths, err = dirFiles(src.path); err != nil {
			return fmt.Errorf("config-dir: %w", err)
		}
	} else if _, err := os.Stat(src.path); err != nil {
		return fmt.Errorf("config-file: %w", err)
	}
	var errs []error
	for _, p := range paths {
		errs = append(errs, loadFile(c, p))
	}
	return errors.Join(errs...)
}

// dirFiles lists dir's configuration files in lexical order, skipping
// files of other formats and subdirectories.
func dirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !isConfigFile(path) {
			continue
		}
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			continue // a directory named like a file
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func isConfigFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".hcl", ".json":
		return true
	}
	return false
}

func loadFile(c *Config, path string) error {
	if !isConfigFile(path) {
		return fmt.Errorf("config-file: %s: unknown format, want a .hcl or .json file", path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c.files = append(c.files, path)
	return applyFile(c, path, src)
}

// Package configs defines the agent's configuration: Default, loading from
// flags (and, as the agent grows, files), and Validate, which names the
// field that is wrong.
package configs

// Package configs is the agent's configuration: one Config built by Load
// from Default, HCL or JSON files (-config-file, -config-dir) and flags,
// in that order of precedence, with Consul's flag names and file keys.
//
// Files use Consul's snake_case keys; unknown keys, wrong types and bad
// values are errors naming file, line and key (a *FieldError wrapping
// ErrInvalid). Addresses accept go-sockaddr templates such as
// "{{ GetPrivateIP }}", resolved during Load. Services and checks declared
// in files come out as ServiceDefinition and CheckDefinition for the agent
// to register. Validate checks a merged Config, naming the bad field.
// Example files live in configs/examples.
//
// The package imports nothing of beacon's.
package configs

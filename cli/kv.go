package cli

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var kvCommands = []*command{{
	name:     "kv get",
	synopsis: "Reads a value, a tree or a list of keys from the KV store",
	usage:    "[options] [KEY_OR_PREFIX]",
	help: `
  Prints the raw value stored at KEY (GET /v1/kv/KEY). A missing key is an
  error. With -recurse, prints every pair under the prefix as key:value
  lines; with -keys, the keys under the prefix, up to -separator.

      $ beacon kv get config/redis/maxconns
      $ beacon kv get -recurse config/
      $ beacon kv get -keys config/`,
	read: true,
	run:  runKVGet,
}, {
	name:     "kv put",
	synopsis: "Writes a value to the KV store",
	usage:    "[options] KEY [VALUE|@FILE|-]",
	help: `
  Writes VALUE at KEY (PUT /v1/kv/KEY). "@FILE" writes the file's contents
  and "-" reads the value from stdin; without VALUE the key is written empty.
  -cas with -modify-index N writes only if the key's ModifyIndex is still N
  (0: only if the key does not exist).

      $ beacon kv put config/redis/maxconns 5
      $ beacon kv put -cas -modify-index 844 config/redis/maxconns 6
      $ echo hello | beacon kv put greeting -`,
	run: runKVPut,
}, {
	name:     "kv delete",
	synopsis: "Deletes a key or a tree from the KV store",
	usage:    "[options] KEY_OR_PREFIX",
	help: `
  Deletes KEY (DELETE /v1/kv/KEY), or with -recurse every key under the
  prefix. -cas with -modify-index N deletes only if the key's ModifyIndex is
  still N.`,
	run: runKVDelete,
}, {
	name:     "kv export",
	synopsis: "Exports a tree of the KV store as JSON",
	usage:    "[options] [PREFIX]",
	help: `
  Writes every pair under PREFIX (all of them without PREFIX) as a JSON
  array of {"key", "flags", "value"} with base64 values, the format of
  "consul kv export", which "beacon kv import" reads.`,
	read: true,
	run:  runKVExport,
}, {
	name:     "kv import",
	synopsis: "Imports a tree exported as JSON into the KV store",
	usage:    "[options] [@FILE|-|JSON]",
	help: `
  Writes every pair of an export ("beacon kv export" or "consul kv export")
  into the KV store. The data is read from FILE with "@FILE", from stdin with
  "-" or without an argument, or given inline as JSON. -prefix is prepended
  to every key.

      $ beacon kv export app/ > app.json
      $ beacon kv import @app.json`,
	run: runKVImport,
}}

// kvPair is an entry of GET /v1/kv/:key (Value is base64 in JSON).
type kvPair struct {
	Key         string
	Value       []byte
	Flags       uint64
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Session     string
}

// kvEntry is an entry of "kv export" / "kv import".
type kvEntry struct {
	Key   string `json:"key"`
	Flags uint64 `json:"flags"`
	Value string `json:"value"`
}

// kvPath returns the API path of key.
func kvPath(key string) string { return "/v1/kv/" + key }

// trimKey drops a leading "/", as consul does: keys never start with one.
func trimKey(key string) string { return strings.TrimPrefix(key, "/") }

// kvGetOpts are the flags of "kv get".
type kvGetOpts struct {
	recurse, keys, b64, detailed bool
	separator                    string
}

func runKVGet(inv *invocation, args []string) int {
	var o kvGetOpts
	inv.fs.BoolVar(&o.recurse, "recurse", false, "Print every key:value pair under the prefix.")
	inv.fs.BoolVar(&o.keys, "keys", false, "List the keys under the prefix, not their values.")
	inv.fs.StringVar(&o.separator, "separator", "/", "With -keys, list keys only up to this separator.")
	inv.fs.BoolVar(&o.b64, "base64", false, "Print values base64-encoded.")
	inv.fs.BoolVar(&o.detailed, "detailed", false, "Print each pair's metadata (indexes, flags, session) too.")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 1); !ok {
		return code
	}
	key := ""
	if len(args) == 1 {
		key = trimKey(args[0])
	}
	if key == "" && !o.recurse && !o.keys {
		return inv.usageError("missing KEY argument")
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	if o.keys {
		return kvGetKeys(inv, c, key, o.separator)
	}
	return kvGetPairs(inv, c, key, o)
}

func kvGetKeys(inv *invocation, c *client, prefix, sep string) int {
	q := inv.query()
	q.Set("keys", "")
	q.Set("separator", sep)
	var keys []string
	r, err := c.get(kvPath(prefix), q, &keys)
	switch {
	case isStatus(err, http.StatusNotFound):
		r, keys = &response{body: []byte("[]")}, nil
	case err != nil:
		return inv.fail("querying agent", err)
	}
	if inv.json() {
		return inv.printJSON(r.body)
	}
	for _, k := range keys {
		inv.printf("%s\n", k)
	}
	return 0
}

func kvGetPairs(inv *invocation, c *client, key string, o kvGetOpts) int {
	q := inv.query()
	if o.recurse {
		q.Set("recurse", "")
	}
	var pairs []kvPair
	r, err := c.get(kvPath(key), q, &pairs)
	switch {
	case isStatus(err, http.StatusNotFound) && !o.recurse:
		return inv.errorf("Error! No key exists at: %s", key)
	case isStatus(err, http.StatusNotFound):
		r, pairs = &response{body: []byte("[]")}, nil
	case err != nil:
		return inv.fail("querying agent", err)
	case !o.recurse && len(pairs) == 0:
		return inv.errorf("Error! No key exists at: %s", key)
	}
	if inv.json() {
		return inv.printJSON(r.body)
	}
	for i, p := range pairs {
		value := string(p.Value)
		if o.b64 {
			value = base64.StdEncoding.EncodeToString(p.Value)
		}
		switch {
		case o.detailed:
			if i > 0 {
				inv.printf("\n")
			}
			printKVDetailed(inv, p, value)
		case o.recurse:
			inv.printf("%s:%s\n", p.Key, value)
		default:
			inv.printf("%s\n", value)
		}
	}
	return 0
}

func printKVDetailed(inv *invocation, p kvPair, value string) {
	session := p.Session
	if session == "" {
		session = "-"
	}
	tw := inv.table()
	row(tw, "CreateIndex", p.CreateIndex)
	row(tw, "Flags", p.Flags)
	row(tw, "Key", p.Key)
	row(tw, "LockIndex", p.LockIndex)
	row(tw, "ModifyIndex", p.ModifyIndex)
	row(tw, "Session", session)
	row(tw, "Value", value)
	tw.Flush()
}

// casFlags are -cas and -modify-index, shared by put and delete.
type casFlags struct {
	cas   bool
	index uint64
}

func (cf *casFlags) register(inv *invocation) {
	inv.fs.BoolVar(&cf.cas, "cas", false, "Check-and-set: write only if the key's ModifyIndex is -modify-index.")
	inv.fs.Uint64Var(&cf.index, "modify-index", 0, "The ModifyIndex -cas expects (0: the key must not exist).")
}

// check validates the pair after parsing.
func (cf *casFlags) check(inv *invocation) error {
	set := inv.flagSet("modify-index")
	switch {
	case cf.cas && !set:
		return errors.New("-cas requires -modify-index")
	case !cf.cas && set:
		return errors.New("-modify-index requires -cas")
	}
	return nil
}

// kvPutOpts are the flags of "kv put".
type kvPutOpts struct {
	cas   casFlags
	flags uint64
	b64   bool
}

func runKVPut(inv *invocation, args []string) int {
	var o kvPutOpts
	o.cas.register(inv)
	inv.fs.Uint64Var(&o.flags, "flags", 0, "An unsigned integer stored with the pair, for the application's use.")
	inv.fs.BoolVar(&o.b64, "base64", false, "VALUE is base64-encoded; store the decoded bytes.")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 1, 2); !ok {
		return code
	}
	if err := o.cas.check(inv); err != nil {
		return inv.usageError(err.Error())
	}
	key := trimKey(args[0])
	if key == "" {
		return inv.usageError("missing KEY argument")
	}
	var value []byte
	if len(args) == 2 {
		v, err := inv.readInput(args[1])
		if err == nil && o.b64 {
			v, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(v)))
		}
		if err != nil {
			return inv.errorf("Error! %v", err)
		}
		value = v
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	return kvPut(inv, c, key, value, o)
}

func kvPut(inv *invocation, c *client, key string, value []byte, o kvPutOpts) int {
	q := url.Values{}
	if o.flags != 0 {
		q.Set("flags", strconv.FormatUint(o.flags, 10))
	}
	if o.cas.cas {
		q.Set("cas", strconv.FormatUint(o.cas.index, 10))
	}
	if value == nil {
		value = []byte{}
	}
	r, err := c.put(kvPath(key), q, value)
	if err != nil {
		return inv.fail("writing data to "+key, err)
	}
	written, err := decodeBool(r)
	switch {
	case err != nil:
		return inv.fail("writing data to "+key, err)
	case !written && o.cas.cas:
		return inv.errorf("Error! Did not write to %s: CAS failed", key)
	case !written:
		return inv.errorf("Error! Did not write to %s", key)
	}
	inv.printf("Success! Data written to: %s\n", key)
	return 0
}

func runKVDelete(inv *invocation, args []string) int {
	var cf casFlags
	var recurse bool
	cf.register(inv)
	inv.fs.BoolVar(&recurse, "recurse", false, "Delete every key under the prefix.")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 1); !ok {
		return code
	}
	if err := cf.check(inv); err != nil {
		return inv.usageError(err.Error())
	}
	key := ""
	if len(args) == 1 {
		key = trimKey(args[0])
	}
	switch {
	case cf.cas && recurse:
		return inv.usageError("cannot combine -cas and -recurse")
	case key == "" && !recurse:
		return inv.usageError("missing KEY argument")
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	return kvDelete(inv, c, key, recurse, cf)
}

func kvDelete(inv *invocation, c *client, key string, recurse bool, cf casFlags) int {
	q := url.Values{}
	if recurse {
		q.Set("recurse", "")
	}
	if cf.cas {
		q.Set("cas", strconv.FormatUint(cf.index, 10))
	}
	r, err := c.do(http.MethodDelete, kvPath(key), q, nil)
	if err != nil {
		return inv.fail("deleting "+key, err)
	}
	deleted, err := decodeBool(r)
	switch {
	case err != nil:
		return inv.fail("deleting "+key, err)
	case !deleted && cf.cas:
		return inv.errorf("Error! Did not delete key %s: CAS failed", key)
	case !deleted:
		return inv.errorf("Error! Did not delete key %s", key)
	case recurse:
		inv.printf("Success! Deleted keys with prefix: %s\n", key)
	default:
		inv.printf("Success! Deleted key: %s\n", key)
	}
	return 0
}

func runKVExport(inv *invocation, args []string) int {
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 1); !ok {
		return code
	}
	prefix := ""
	if len(args) == 1 {
		prefix = trimKey(args[0])
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	q := inv.query()
	q.Set("recurse", "")
	var pairs []kvPair
	if _, err := c.get(kvPath(prefix), q, &pairs); err != nil && !isStatus(err, http.StatusNotFound) {
		return inv.fail("querying agent", err)
	}
	entries := make([]kvEntry, len(pairs))
	for i, p := range pairs {
		entries[i] = kvEntry{Key: p.Key, Flags: p.Flags, Value: base64.StdEncoding.EncodeToString(p.Value)}
	}
	b, err := json.MarshalIndent(entries, "", "\t")
	if err != nil {
		return inv.errorf("Error exporting KV data: %v", err)
	}
	inv.printf("%s\n", b)
	return 0
}

func runKVImport(inv *invocation, args []string) int {
	var prefix string
	inv.fs.StringVar(&prefix, "prefix", "", "Prepend this to every imported key.")
	args, code, ok := inv.parse(args)
	if !ok {
		return code
	}
	if code, ok := inv.wantArgs(args, 0, 1); !ok {
		return code
	}
	src := "-"
	if len(args) == 1 {
		src = args[0]
	}
	data, err := inv.readInput(src)
	if err != nil {
		return inv.errorf("Error! %v", err)
	}
	entries, values, err := decodeImport(data)
	if err != nil {
		return inv.errorf("Error! %v", err)
	}
	c := inv.client()
	if c == nil {
		return 1
	}
	for i, e := range entries {
		key := prefix + e.Key
		if code := kvPut(quietInvocation(inv), c, key, values[i], kvPutOpts{flags: e.Flags}); code != 0 {
			return code
		}
		inv.printf("Imported: %s\n", key)
	}
	return 0
}

// quietInvocation is inv with stdout discarded, for reusing a command's
// code without its success message.
func quietInvocation(inv *invocation) *invocation {
	cp := *inv
	e := *inv.env
	e.stdout = io.Discard
	cp.env = &e
	return &cp
}

// decodeImport parses an export and decodes every value before anything is
// written, so a bad entry fails the whole import up front.
func decodeImport(data []byte) ([]kvEntry, [][]byte, error) {
	var entries []kvEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, nil, fmt.Errorf("cannot unmarshal data: %w", err)
	}
	values := make([][]byte, len(entries))
	for i, e := range entries {
		v, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("base64-decoding the value of key %s: %w", e.Key, err)
		}
		values[i] = v
	}
	return entries, values, nil
}

package configs

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
)

// applyFile parses src, HCL or JSON by name's extension, and applies every
// value it sets onto c. The error lists each bad value with name, line and
// key; HCL's own diagnostics cover syntax, unknown keys and wrong types.
func applyFile(c *Config, name string, src []byte) error {
	f, diags := parseFile(name, src)
	if diags.HasErrors() {
		return diagsError(diags, "", hcl.Range{Filename: name})
	}
	// Unknown keys and misplaced blocks do not stop the known keys from
	// being decoded: one run reports both.
	var raw rawConfig
	diags = gohcl.DecodeBody(f.Body, nil, &raw)
	d := &decoder{errs: []error{diagsError(diags, "", hcl.Range{Filename: name})}}
	d.apply(c, &raw)
	return errors.Join(d.errs...)
}

func parseFile(name string, src []byte) (*hcl.File, hcl.Diagnostics) {
	if strings.EqualFold(filepath.Ext(name), ".json") {
		return hcljson.Parse(src, name)
	}
	return hclsyntax.ParseConfig(src, name, hcl.InitialPos)
}

// diagsError turns HCL's error diagnostics into FieldErrors about field,
// located at their subject or else at fallback.
func diagsError(diags hcl.Diagnostics, field string, fallback hcl.Range) error {
	var errs []error
	for _, dg := range diags {
		if dg.Severity != hcl.DiagError {
			continue
		}
		r := fallback
		if dg.Subject != nil {
			r = *dg.Subject
		}
		errs = append(errs, &FieldError{File: r.Filename, Line: r.Start.Line, Field: field, Err: errors.New(diagText(dg))})
	}
	return errors.Join(errs...)
}

// diagText is "summary: detail", the summary lower-cased like a Go error
// unless it starts with an acronym.
func diagText(dg *hcl.Diagnostic) string {
	s := dg.Summary
	if first, n := utf8.DecodeRuneInString(s); n > 0 {
		if second, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsLower(second) {
			s = string(unicode.ToLower(first)) + s[n:]
		}
	}
	if dg.Detail != "" {
		s += ": " + dg.Detail
	}
	return s
}

// decoder applies a decoded file onto a Config, collecting one error per
// bad value; a bad value leaves its field as it was.
type decoder struct {
	errs []error
}

func (d *decoder) fail(r hcl.Range, field string, err error) {
	d.errs = append(d.errs, &FieldError{File: r.Filename, Line: r.Start.Line, Field: field, Err: err})
}

// decodeAs decodes attribute a as a T, lets conv check and convert it, and
// stores the result in *dst, reporting whether it did. An absent attribute
// (nil) leaves *dst alone.
func decodeAs[T, U any](d *decoder, a *hcl.Attribute, field string, dst *U, conv func(T) (U, error)) bool {
	if a == nil {
		return false
	}
	var v T
	if diags := gohcl.DecodeExpression(a.Expr, nil, &v); diags.HasErrors() {
		d.errs = append(d.errs, diagsError(diags, field, a.Range))
		return false
	}
	u, err := conv(v)
	if err != nil {
		d.fail(a.Range, field, err)
		return false
	}
	*dst = u
	return true
}

// decode is decodeAs for a value stored as decoded once check (nil: none)
// accepts it.
func decode[T any](d *decoder, a *hcl.Attribute, field string, dst *T, check func(T) error) bool {
	return decodeAs(d, a, field, dst, func(v T) (T, error) {
		if check == nil {
			return v, nil
		}
		return v, check(v)
	})
}

// decodeDuration decodes a Go duration string such as "10s".
func decodeDuration(d *decoder, a *hcl.Attribute, field string, dst *time.Duration) bool {
	return decodeAs(d, a, field, dst, parseDuration)
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"10s\"", s)
	}
	return v, atLeastZero(v)
}

// parseLeaseTTL parses a lease_ttl: a duration of at least MinLeaseTTL.
func parseLeaseTTL(s string) (time.Duration, error) {
	v, err := parseDuration(s)
	if err == nil {
		err = checkLeaseTTL(v)
	}
	return v, err
}

func parseReconnectTimeout(s string) (time.Duration, error) {
	v, err := parseDuration(s)
	if err == nil {
		err = checkReconnectTimeout(v)
	}
	return v, err
}

// each applies check to every element of a list.
func each[T any](check func(T) error) func([]T) error {
	return func(vs []T) error {
		for _, v := range vs {
			if err := check(v); err != nil {
				return err
			}
		}
		return nil
	}
}

// mergeMaps returns a new map holding base's entries overridden by top's.
func mergeMaps[V any](base, top map[string]V) map[string]V {
	m := make(map[string]V, len(base)+len(top))
	maps.Copy(m, base)
	maps.Copy(m, top)
	return m
}

package configs

import (
	"errors"
	"fmt"
	"strings"

	sockaddr "github.com/hashicorp/go-sockaddr/template"
)

// resolveAddrs expands a go-sockaddr template such as
// `{{ GetPrivateIP }}` (a plain address passes through) and splits the
// result on white space; each word must be an IP address.
func resolveAddrs(s string) ([]string, error) {
	tmpl := strings.Contains(s, "{{")
	out := s
	if tmpl {
		var err error
		if out, err = sockaddr.Parse(s); err != nil {
			return nil, fmt.Errorf("template %q: %w", s, err)
		}
	}
	addrs := strings.Fields(out)
	switch {
	case tmpl && (len(addrs) == 0 || out == "[]"): // "[]": an empty list of interfaces, printed
		return nil, fmt.Errorf("template %q resolves to no address", s)
	case len(addrs) == 0:
		return nil, errors.New("no address given")
	}
	for _, a := range addrs {
		err := checkIP(a)
		if err != nil && tmpl {
			return nil, fmt.Errorf("template %q resolves to %q: %w", s, out, err)
		}
		if err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// resolveAddr is resolveAddrs for a field that takes exactly one address.
func resolveAddr(s string) (string, error) {
	addrs, err := resolveAddrs(s)
	if err != nil {
		return "", err
	}
	if len(addrs) > 1 {
		return "", fmt.Errorf("%q resolves to %d addresses (%s); want exactly one", s, len(addrs), strings.Join(addrs, " "))
	}
	return addrs[0], nil
}

// resolveAdvertise is resolveAddr that lets an empty value through: it
// means "advertise the bind address".
func resolveAdvertise(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	return resolveAddr(s)
}

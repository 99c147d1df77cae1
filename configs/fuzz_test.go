package configs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadFile feeds arbitrary bytes to the loader as an HCL and as a JSON
// file. It must not panic, every error must be a located ErrInvalid, and
// whatever a file is allowed to set must pass Validate: the per-value
// checks of the file decoder are at least as strict as Validate's.
//
//	go test -run '^$' -fuzz FuzzLoadFile -fuzztime 30s -fuzzminimizetime 2s ./configs
//
// (the seeds are whole example files, and minimising them with the default
// 60 s budget stalls the run).
func FuzzLoadFile(f *testing.F) {
	for _, name := range []string{"dev.hcl", "server.hcl", "client.hcl", "client.json"} {
		src, err := os.ReadFile(filepath.Join("examples", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, seed := range []string{
		fullHCL,
		fullJSON,
		`ports { http = -1 }`, // disabled listener
		`bind_addr = "{{ GetAllInterfaces | include \"flags\" \"loopback\" | limit 1 | attr \"address\" }}"`, // template
		`{"services": [{"name": "a"}, {"port": 3}]}`,                                                         // second service invalid
		`service { check { http = "x" } }`,                                                                   // check without interval
		`node_meta = { a = "${b}" }`,                                                                         // variables
		`limits { request_rate = 1e400 }`,                                                                    // huge number
		`{"check": null, "service": [null]}`,                                                                 // JSON nulls as blocks
		"\xff\xfe",                                                                                           // not UTF-8
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, name := range []string{"fuzz.hcl", "fuzz.json"} {
			c := Default()
			devDefaults(&c)
			err := applyFile(&c, name, src)
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || fe.File != name {
					t.Fatalf("%s: err = %v (%T), want a *FieldError in %s", name, err, err, name)
				}
				continue
			}
			devForce(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("%s: accepted, but Validate = %v\n%s", name, err, src)
			}
		}
	})
}

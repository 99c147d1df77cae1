package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/catalog"
	"github.com/beacon-sd/beacon/health"
)

// On-disk layout under Config.Dir: one JSON file per service and per
// check, named by a hash of the ID (IDs may hold any character), each
// written atomically (temporary file, fsync, rename, fsync of the
// directory).
//
//	services/<sha256(id)>.json  {"Service": {...}}
//	checks/<sha256(id)>.json    {"Check": {...}, "TTLExpires": "..."}
//
// A check file holds the check's last status and output, so a restart
// does not flap it; a TTL check's also holds its expiry, so a restart
// within the TTL keeps a passing check passing.
const (
	servicesDir = "services"
	checksDir   = "checks"
	tmpPrefix   = ".tmp-"
)

type persistedService struct {
	Service catalog.Service
}

type persistedCheck struct {
	Check      catalog.Check
	TTLExpires time.Time `json:",omitzero"`
}

func fileName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:]) + ".json"
}

func (s *State) persistService(svc *catalog.Service) error {
	if s.cfg.Dir == "" {
		return nil
	}
	return writeJSONAtomic(filepath.Join(s.cfg.Dir, servicesDir, fileName(svc.ID)), persistedService{Service: *svc})
}

func (s *State) persistCheck(c *catalog.Check, ttlExpires time.Time) error {
	if s.cfg.Dir == "" {
		return nil
	}
	return writeJSONAtomic(filepath.Join(s.cfg.Dir, checksDir, fileName(c.CheckID)), persistedCheck{Check: *c, TTLExpires: ttlExpires})
}

func (s *State) unpersistService(id string) error {
	return s.removeFile(servicesDir, id)
}

func (s *State) unpersistCheck(id string) error {
	return s.removeFile(checksDir, id)
}

func (s *State) removeFile(dir, id string) error {
	if s.cfg.Dir == "" {
		return nil
	}
	err := os.Remove(filepath.Join(s.cfg.Dir, dir, fileName(id)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove persisted %s %q: %w", strings.TrimSuffix(dir, "s"), id, err)
	}
	return nil
}

// writeJSONAtomic replaces path with v's JSON so that a crash leaves
// either the old file or the new one.
func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// load reads Dir: services first, then checks (a check whose service is
// missing is skipped), and starts the checks' runners. Corrupt files are
// logged and skipped.
func (s *State) load() error {
	if s.cfg.Dir == "" {
		return nil
	}
	for _, d := range []string{servicesDir, checksDir} {
		if err := os.MkdirAll(filepath.Join(s.cfg.Dir, d), 0o700); err != nil {
			return fmt.Errorf("local state directory: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.readDir(servicesDir, func(path string, data []byte) error {
		var p persistedService
		if err := json.Unmarshal(data, &p); err != nil {
			return err
		}
		svc := p.Service
		if svc.ID == "" || filepath.Base(path) != fileName(svc.ID) {
			return errors.New("no service ID, or one that does not match the file name")
		}
		svc.Node = s.cfg.Node.Node
		req := catalog.RegisterRequest{Node: s.cfg.Node, Service: &svc}
		if err := req.Validate(); err != nil {
			return err
		}
		s.services[svc.ID] = &serviceEntry{svc: svc}
		return nil
	})
	if err != nil {
		return err
	}
	return s.readDir(checksDir, func(path string, data []byte) error {
		var p persistedCheck
		if err := json.Unmarshal(data, &p); err != nil {
			return err
		}
		return s.restoreCheckLocked(path, p)
	})
}

// restoreCheckLocked adds a loaded check. A TTL check whose expiry passed
// comes back critical.
func (s *State) restoreCheckLocked(path string, p persistedCheck) error {
	c := p.Check
	if c.CheckID == "" || filepath.Base(path) != fileName(c.CheckID) {
		return errors.New("no check ID, or one that does not match the file name")
	}
	if c.ServiceID != "" {
		se := s.services[c.ServiceID]
		if se == nil {
			return fmt.Errorf("its service %q is not registered", c.ServiceID)
		}
		c.ServiceName, c.ServiceTags = se.svc.Service, se.svc.Tags
	}
	c.Node = s.cfg.Node.Node
	req := catalog.RegisterRequest{Node: s.cfg.Node, Checks: []*catalog.Check{&c}}
	if err := req.Validate(); err != nil {
		return err
	}
	if c.Type != health.Type(c.Definition) {
		return fmt.Errorf("check type %q does not match its definition", c.Type)
	}
	if c.Type == health.TypeTTL && !p.TTLExpires.IsZero() && !time.Now().Before(p.TTLExpires) {
		c.Status, c.Output = catalog.HealthCritical, health.TTLExpiredOutput
	}
	ce := &checkEntry{check: c}
	if c.Status == catalog.HealthCritical {
		ce.criticalSince = time.Now()
	}
	s.checks[c.CheckID] = ce
	s.startRunnerLocked(ce, p.TTLExpires)
	return nil
}

// readDir calls fn on each JSON file of Dir/sub; a file fn rejects is
// logged and skipped. Temporary files left by a crash are removed.
func (s *State) readDir(sub string, fn func(path string, data []byte) error) error {
	dir := filepath.Join(s.cfg.Dir, sub)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("local state directory: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			continue
		case strings.HasPrefix(e.Name(), tmpPrefix):
			os.Remove(path)
			continue
		case !strings.HasSuffix(e.Name(), ".json"):
			continue
		}
		data, err := os.ReadFile(path)
		if err == nil {
			err = fn(path, data)
		}
		if err != nil {
			s.log.Warn("skipping a corrupt local state file", "file", path, "error", err)
		}
	}
	return nil
}

package beacon

import (
	"bytes"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/beacon-sd/beacon/"

// goFiles returns every Go file of the module, tests included.
func goFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != "." || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() && p != "." {
			// A folder with its own go.mod is another module
			// (third_party/badger), not a package of this one.
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// goPackages returns every package directory of the module (relative path
// → its non-test files).
func goPackages(t *testing.T) map[string][]string {
	t.Helper()
	pkgs := map[string][]string{}
	for _, p := range goFiles(t) {
		if !strings.HasSuffix(p, "_test.go") {
			pkgs[filepath.Dir(p)] = append(pkgs[filepath.Dir(p)], p)
		}
	}
	return pkgs
}

// TestGofmt fails for any file of the module that gofmt would change.
func TestGofmt(t *testing.T) {
	for _, p := range goFiles(t) {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		formatted, err := format.Source(src)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !bytes.Equal(src, formatted) {
			t.Errorf("%s is not gofmt-formatted (run gofmt -w %s)", p, p)
		}
	}
}

// TestPackageDocs enforces one doc.go per package whose comment starts
// with "Package <name>" (or "Command" for main packages).
func TestPackageDocs(t *testing.T) {
	for dir := range goPackages(t) {
		doc := filepath.Join(dir, "doc.go")
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Errorf("%s: package has no doc.go", dir)
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), doc, src, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		text := f.Doc.Text()
		want := "Package " + f.Name.Name + " "
		if f.Name.Name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(text, want) {
			t.Errorf("%s: package comment must start with %q, got %q", doc, want, firstLine(text))
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// allowedImports is the import direction of docs/ARCHITECTURE.md: which
// module packages each package may import (by top-level folder).
var allowedImports = map[string][]string{
	"catalog":   {},
	"configs":   {},
	"api":       {},
	"ui":        {},
	"cli":       {"api"},
	"raftstore": {"catalog", "internal/hclogslog"},
	"health":    {"catalog"},
	"dns":       {"catalog"},
	"proxy":     {"catalog"},
	"agent":     {"*"},
	"cmd":       {"*"},
	"internal":  {"*"},
}

// TestImportDirection fails when a package imports one it must not, e.g.
// catalog importing raftstore, or dns importing raftstore.
func TestImportDirection(t *testing.T) {
	for dir, files := range goPackages(t) {
		if dir == "." {
			continue
		}
		top := strings.Split(filepath.ToSlash(dir), "/")[0]
		allowed, ok := allowedImports[top]
		if !ok {
			t.Errorf("%s: top-level folder %q is not in the architecture's package table", dir, top)
			continue
		}
		if len(allowed) == 1 && allowed[0] == "*" {
			continue
		}
		for _, file := range files {
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if !strings.HasPrefix(path, module) {
					continue
				}
				target := strings.TrimPrefix(path, module)
				if strings.HasPrefix(target, top) || importAllowed(target, allowed) {
					continue
				}
				t.Errorf("%s imports %s, which %s may not import (allowed: %v)", file, target, top, allowed)
			}
		}
	}
}

func importAllowed(target string, allowed []string) bool {
	for _, a := range allowed {
		if target == a || strings.HasPrefix(target, a+"/") {
			return true
		}
	}
	return false
}

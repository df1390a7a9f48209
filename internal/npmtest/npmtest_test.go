package npmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestInstallOnceAndConcurrently(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	// A package with one local dependency: npm ci then writes
	// node_modules/.package-lock.json, and needs no registry.
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dep/package.json", `{"name":"dep","version":"1.0.0"}`)
	write("package.json", `{"name":"npmtest-local","version":"1.0.0","dependencies":{"dep":"file:dep"}}`)
	npmi := exec.Command("npm", "install", "--no-audit", "--no-fund", "--package-lock-only")
	npmi.Dir = dir
	if out, err := npmi.CombinedOutput(); err != nil {
		t.Fatalf("npm install --package-lock-only: %v\n%s", err, out)
	}
	lock := filepath.Join(dir, "package-lock.json")
	if current(dir, lock) {
		t.Fatal("current before any install")
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = Install(dir) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !current(dir, lock) {
		t.Fatal("not current after install")
	}
	// A newer lockfile makes the install stale again.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(lock, future, future); err != nil {
		t.Fatal(err)
	}
	if current(dir, lock) {
		t.Fatal("current although the lockfile changed")
	}
}

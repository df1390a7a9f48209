// Package npmtest installs the npm packages a test needs from the lockfile
// committed beside it, so that `go test ./...` on a fresh machine runs the
// node-backed tests (interop with @medplum/hl7, FHIR validation) instead of
// skipping them. It is for tests only: the product never installs packages.
package npmtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Install runs `npm ci` in dir unless its node_modules is already current
// (newer than package-lock.json). Test binaries of several packages run at
// once and may share a directory, so the install holds a lock on the
// directory. Setting PLEXUS_NO_NPM=1 turns installing off.
func Install(dir string) error {
	lock := filepath.Join(dir, "package-lock.json")
	if current(dir, lock) || os.Getenv("PLEXUS_NO_NPM") == "1" {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm not found, so the packages of %s cannot be installed: %w", dir, err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	defer unlock()
	if current(dir, lock) { // another test binary installed it while we waited
		return nil
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out.Bytes())
	}
	fmt.Fprintf(os.Stderr, "npmtest: installed the npm packages of %s in %s\n", dir, time.Since(start).Round(time.Millisecond))
	return nil
}

// current reports whether npm ci has completed since the lockfile changed:
// npm writes node_modules/.package-lock.json at the end of an install.
func current(dir, lock string) bool {
	done, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	want, err := os.Stat(lock)
	return err == nil && !done.ModTime().Before(want.ModTime())
}

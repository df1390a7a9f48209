package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// Formats.
const (
	formatFile   = "file"   // one file per message
	formatNDJSON = "ndjson" // one line per Bundle, appended
)

// Sync settings: how format file makes a message durable (see doc.go).
const (
	syncGroup     = "group"     // group commit, one syncfs per group (Linux)
	syncFdatasync = "fdatasync" // group commit, one fdatasync per file
	syncFile      = "file"      // each delivery on its own: fsync file, rename, fsync dir
)

// Default modes. Messages hold patient data: no access for others.
const (
	DefaultDirMode  Mode = "0750"
	DefaultFileMode Mode = "0640"
)

func init() {
	channels.Register(channels.Kind{Name: "file", New: func() channels.Config { return New() }})
}

// Config is the `file:` block of a destination in routes.yaml.
type Config struct {
	// Dir is where files go, relative to routes.yaml's directory unless
	// absolute. It is created at Open.
	Dir string `yaml:"dir"`
	// Name is a text/template over NameData giving the file's path below
	// Dir. Empty means DefaultName (format file) or DefaultNDJSONName.
	Name string `yaml:"name"`
	// Format is "file" (the default) or "ndjson".
	Format string `yaml:"format"`
	// DirMode is the mode of directories this destination creates (the
	// process umask applies, as to mkdir); existing ones are left alone.
	DirMode Mode `yaml:"dir_mode"`
	// FileMode is the mode of the files written, set exactly (no umask).
	FileMode Mode `yaml:"file_mode"`
	// Sync is how a file is made durable: "fdatasync" (the default),
	// "group" or "file"; see the package documentation for when to use
	// which.
	Sync string `yaml:"sync"`

	// Compiled by Validate.
	namer             *namer
	dirMode, fileMode fs.FileMode
}

// New returns a Config holding the defaults.
func New() *Config {
	return &Config{Format: formatFile, DirMode: DefaultDirMode, FileMode: DefaultFileMode, Sync: syncFdatasync}
}

func (c *Config) nameText() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Format == formatNDJSON:
		return DefaultNDJSONName
	}
	return DefaultName
}

// Validate checks the settings and compiles the name template, so that a
// broken template is reported with the configuration, not per message.
func (c *Config) Validate() error {
	var errs []error
	switch {
	case strings.TrimSpace(c.Dir) == "":
		errs = append(errs, channels.Fieldf("dir", "required: the directory to write to"))
	case strings.IndexByte(c.Dir, 0) >= 0:
		errs = append(errs, channels.Fieldf("dir", "contains a NUL byte"))
	}
	if c.Format != formatFile && c.Format != formatNDJSON {
		errs = append(errs, channels.Fieldf("format", "want %s or %s, got %q", formatFile, formatNDJSON, c.Format))
	}
	switch c.Sync {
	case syncGroup, syncFdatasync, syncFile:
	default:
		errs = append(errs, channels.Fieldf("sync", "want %s, %s or %s, got %q", syncGroup, syncFdatasync, syncFile, c.Sync))
	}
	c.namer = nil
	if n, err := compileName(c.nameText()); err != nil {
		errs = append(errs, channels.Fieldf("name", "%v", err))
	} else if err := n.check(); err != nil {
		errs = append(errs, channels.Fieldf("name", "%v", err))
	} else {
		c.namer = n
	}
	var err error
	if c.dirMode, err = c.DirMode.Parse(); err != nil {
		errs = append(errs, channels.Fieldf("dir_mode", "%v", err))
	} else if c.dirMode&0o300 != 0o300 {
		errs = append(errs, channels.Fieldf("dir_mode", "%s does not let the owner create files in it (needs 0300)", c.DirMode))
	}
	if c.fileMode, err = c.FileMode.Parse(); err != nil {
		errs = append(errs, channels.Fieldf("file_mode", "%v", err))
	}
	return errors.Join(errs...)
}

// Warnings reports names that break the one-file-per-message promise.
func (c *Config) Warnings() []*channels.FieldError {
	if c.Format != formatFile {
		return nil
	}
	n, err := compileName(c.nameText())
	if err != nil || n.check() != nil {
		return nil // Validate reports it
	}
	nextSeq := func(d *NameData) { d.Seq++ }
	var w []*channels.FieldError
	if !n.dependsOn(nextSeq) {
		w = append(w, channels.Fieldf("name", "does not use {{.Seq}}: two messages can get the same name, and the later overwrites the earlier"))
	}
	return w
}

// Open creates dir and returns the destination.
func (c *Config) Open(_ context.Context, o channels.OpenOptions) (channels.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("file destination %s: %w", o.Name, err)
	}
	dir := c.Dir
	if !filepath.IsAbs(dir) && o.BaseDir != "" {
		dir = filepath.Join(o.BaseDir, dir)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := newDestination(c, filepath.Clean(dir))
	if d.sync == syncGroup && !syncfsReportsErrors() {
		// Before Linux 5.8 syncfs returned 0 even when writeback failed,
		// so a lost write would be reported delivered; other systems have
		// no syncfs. One fdatasync per file reports errors everywhere.
		d.sync = syncFdatasync
		log.Info("file: syncfs is missing or cannot report write errors on this system; syncing file by file",
			slog.String("dir", d.dir))
	}
	d.start()
	if n := sweepTemps(d.dir, time.Now().Add(-staleTemp)); n > 0 {
		log.Info("file: removed temporary files left by an interrupted run", slog.String("dir", d.dir), slog.Int("files", n))
	}
	if err := mkdirAllSync(d.dir, d.dirMode); err != nil {
		// As with a network peer that is down at start, the engine must
		// still start: deliveries fail (and are retried) until someone
		// fixes the directory, and each one tries to create it again.
		log.Warn("file: cannot create the output directory; deliveries will fail until it exists",
			slog.String("dir", d.dir), slog.String("error", err.Error()))
	}
	return d, nil
}

// Accepts says what this destination can write: any content as one file
// per message, only FHIR Bundles (JSON) as NDJSON lines.
func (c *Config) Accepts(contentType string) bool {
	return c.Format != formatNDJSON || contentType == channels.ContentFHIR
}

// staleTemp is how old a temporary file must be before Open removes it:
// old enough that no other process sharing dir can still be writing it.
const staleTemp = time.Hour

// sweepTemps removes temporary files (tempPattern) under dir last modified
// before cutoff: those of writes cut short by a crash, which no one will
// finish (the engine rewrites the message under a new temporary name). It
// returns how many it removed; errors are ignored, a sweep is best effort.
func sweepTemps(dir string, cutoff time.Time) int {
	n := 0
	filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if ok, _ := filepath.Match(tempPattern, e.Name()); !ok {
			return nil
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) && os.Remove(path) == nil {
			n++
		}
		return nil
	})
	return n
}

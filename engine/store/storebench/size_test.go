package storebench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBinarySize builds the programs in sizeprobe/ (each does one durable
// write with one candidate; base uses the standard library only) with
// CGO_ENABLED=0, plain and stripped (-ldflags=-s -w), and reports each size
// and its delta over base; then again with -tags engineish, where every probe
// also links net/http, crypto/tls, encoding/json and log/slog as the Plexus
// binary does anyway, so the delta is closer to what the product would gain. It runs only with STOREBENCH_SIZES=1 (it builds
// four binaries; the first sqlite build takes a minute).
func TestBinarySize(t *testing.T) {
	if os.Getenv("STOREBENCH_SIZES") == "" {
		t.Skip("set STOREBENCH_SIZES=1")
	}
	out := t.TempDir()
	var tags string
	size := func(prog string, strip bool) int64 {
		bin := filepath.Join(out, fmt.Sprintf("%s-%v-%s", prog, strip, tags))
		args := []string{"build", "-trimpath", "-tags=" + tags, "-o", bin}
		if strip {
			args = append(args, "-ldflags=-s -w")
		}
		cmd := exec.Command("go", append(args, "./sizeprobe/"+prog)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", prog, err, b)
		}
		fi, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	table := "\n| program | tags | size | delta | stripped | delta stripped |\n|---|---|---|---|---|---|\n"
	for _, tags = range []string{"", "engineish"} {
		baseFull, baseStrip := size("base", false), size("base", true)
		for _, p := range []string{"base", "pebble", "bbolt", "sqlite"} {
			full, strip := size(p, false), size(p, true)
			table += fmt.Sprintf("| %s | %s | %.1f MB | +%.1f MB | %.1f MB | +%.1f MB |\n", p, tags,
				float64(full)/(1<<20), float64(full-baseFull)/(1<<20), float64(strip)/(1<<20), float64(strip-baseStrip)/(1<<20))
		}
	}
	t.Log(table)
}

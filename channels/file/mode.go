package file

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Mode is a permission mode in octal, as chmod takes it: 0640, "0640" or
// 0o640 in routes.yaml.
//
// It is kept as text, not a number, because YAML decoders disagree about
// 0640: goccy/go-yaml reads it as octal 416, while "0640" (quoted) decoded
// into an integer is decimal 640, a different mode. UnmarshalYAML takes the
// source text as written, so every spelling means what it looks like.
type Mode string

// UnmarshalYAML receives the scalar's source text (goccy/go-yaml's
// BytesUnmarshaler), quotes included.
func (m *Mode) UnmarshalYAML(b []byte) error {
	*m = Mode(strings.Trim(strings.TrimSpace(string(b)), `"'`))
	return nil
}

// Parse returns the mode; it must be octal and at most 0777.
func (m Mode) Parse() (fs.FileMode, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(string(m), "0o"), "0O")
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || s == "" {
		return 0, fmt.Errorf("want an octal mode such as 0640, got %q", string(m))
	}
	if v > 0o777 {
		return 0, fmt.Errorf("mode %q has bits beyond 0777 (setuid, setgid, sticky are not allowed)", string(m))
	}
	return fs.FileMode(v), nil
}

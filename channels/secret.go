package channels

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Secret is a credential in a destination's config. It is written in
// routes.yaml as a reference, never the value itself:
//
//	token: ${FHIR_TOKEN}          # from the environment
//	token_file: /run/secrets/tok  # the sibling *_file key: from a file
//
// A literal value still works (for a laptop), but Validate's caller warns
// about it: a committed routes.yaml must not hold secrets.
type Secret string

var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// IsInline reports whether s is a literal value rather than an ${ENV}
// reference (the empty secret is not inline).
func (s Secret) IsInline() bool { return s != "" && !envRef.MatchString(string(s)) }

// Resolve returns the secret's value: the environment variable for ${VAR},
// the file's content (trailing newline trimmed) when file is set, otherwise
// the literal. It is an error to set both, or to name an unset variable.
func (s Secret) Resolve(file, baseDir string) (string, error) {
	if s != "" && file != "" {
		return "", fmt.Errorf("set either the value or the _file reference, not both")
	}
	if file != "" {
		if !filepath.IsAbs(file) && baseDir != "" {
			file = filepath.Join(baseDir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if m := envRef.FindStringSubmatch(string(s)); m != nil {
		v, ok := os.LookupEnv(m[1])
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", m[1])
		}
		return v, nil
	}
	return string(s), nil
}

// InlineWarning returns the warning for a secret written inline in the file
// under field, or for one naming an environment variable that is not set
// (the engine would refuse to start), or nil.
func InlineWarning(field string, s Secret) *FieldError {
	if m := envRef.FindStringSubmatch(string(s)); m != nil {
		if _, ok := os.LookupEnv(m[1]); !ok {
			return Fieldf(field, "environment variable %s is not set here; the destination will not open without it", m[1])
		}
		return nil
	}
	if !s.IsInline() {
		return nil
	}
	return Fieldf(field, "secret written inline; use ${ENV_VAR} or %s_file so that routes.yaml can be committed", field)
}

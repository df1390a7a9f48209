package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/plexus-hl7/plexus/channels"
)

// envRef is ${VAR} or ${VAR:-default} inside a setting's text.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

var secretType = reflect.TypeOf(channels.Secret(""))

// expandEnv replaces ${VAR} and ${VAR:-default} in the string settings of
// v (a pointer to a decoded struct), so that addresses, brokers, URLs and
// paths can differ per environment without editing routes.yaml. Secrets
// are left alone (they resolve their own reference, and an expanded one
// would look written inline), and so are maps (a kind's free-form maps,
// such as HTTP headers, resolve their own). A variable that is not set,
// without a default, is an error at its key. node is the YAML node v was
// decoded from.
func (p *parser) expandEnv(v any, node ast.Node) {
	p.expandValue(reflect.ValueOf(v), "", node)
}

func (p *parser) expandValue(v reflect.Value, path string, node ast.Node) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			p.expandValue(v.Elem(), path, node)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			sub := name
			if path != "" {
				sub = path + "." + name
			}
			p.expandValue(v.Field(i), sub, node)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			p.expandValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i), node)
		}
	case reflect.String:
		if v.Type() == secretType || !v.CanSet() || !strings.Contains(v.String(), "${") {
			return
		}
		var missing []string
		out := envRef.ReplaceAllStringFunc(v.String(), func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if val, ok := os.LookupEnv(m[1]); ok {
				return val
			}
			if m[2] != "" {
				return m[3]
			}
			missing = append(missing, m[1])
			return ref
		})
		if len(missing) > 0 {
			p.errorf(findPath(node, path), "%s: environment variable %s is not set (write ${%s:-default} for a default)", path, strings.Join(missing, ", "), missing[0])
			return
		}
		v.SetString(out)
	}
}

// findPath is findField from a node rather than a kind's key.
func findPath(node ast.Node, path string) ast.Node { return findIn(node, node, path) }

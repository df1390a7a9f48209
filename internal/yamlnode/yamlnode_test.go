package yamlnode

import (
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

func TestUnwrap(t *testing.T) {
	for src, want := range map[string]string{
		"a: 1":           "*ast.MappingNode",
		"{a: 1, b: 2}":   "*ast.MappingNode",
		"!!str x":        "*ast.StringNode",
		"&anchor [1, 2]": "*ast.SequenceNode",
		"plain":          "*ast.StringNode",
	} {
		f, err := parser.ParseBytes([]byte(src), 0)
		if err != nil {
			t.Fatal(err)
		}
		got := Unwrap(f.Docs[0].Body)
		if typeName(got) != want {
			t.Errorf("%q: %s, want %s", src, typeName(got), want)
		}
	}
}

func typeName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "*ast.MappingNode"
	case *ast.SequenceNode:
		return "*ast.SequenceNode"
	case *ast.StringNode:
		return "*ast.StringNode"
	}
	return "other"
}

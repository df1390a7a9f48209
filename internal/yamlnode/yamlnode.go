// Package yamlnode holds what the YAML readers of rule files and of
// routes.yaml both need from goccy/go-yaml's syntax tree.
package yamlnode

import "github.com/goccy/go-yaml/ast"

// Unwrap looks through tags and anchors to the value node; a one-pair
// mapping, which goccy parses as a MappingValueNode, comes back as a
// MappingNode, so that callers handle one shape of mapping.
func Unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.MappingValueNode:
			return &ast.MappingNode{BaseNode: v.BaseNode, Start: v.Start, Values: []*ast.MappingValueNode{v}}
		default:
			return n
		}
	}
}

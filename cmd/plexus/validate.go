package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE...]",
		Short: "Check routes.yaml and rule files without running anything",
		Long: `Check files as the engine would at start, without binding a port or opening a
connection. A routes file (one with listeners: or routes:) is checked whole:
unknown keys, types, names across sections, ports, every route's when:
expression and the rules file it names. A rule file is compiled: every
expression, FHIR element path and type, vocabulary map. Each problem is
printed with file:line:column and the line it is on, all of them, not only
the first; warnings (a secret written inline, an unused destination) too.
Without arguments, routes.yaml is checked. Exit status 1 when any file has
a problem.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"routes.yaml"}
			}
			out := cmd.OutOrStdout()
			bad := 0
			for _, f := range args {
				if !validateFile(out, f) {
					bad++
				}
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files have problems", bad, len(args))}
			}
			return nil
		},
	}
}

func validateFile(out io.Writer, f string) bool {
	if isRoutesFile(f) {
		cfg, err := config.Load(f)
		if err != nil {
			var ce config.Errors
			if errors.As(err, &ce) {
				for _, e := range ce {
					fmt.Fprintln(out, e.Error())
				}
			} else {
				fmt.Fprintf(out, "%s: %v\n", f, err)
			}
			return false
		}
		for _, w := range cfg.Warnings {
			fmt.Fprintf(out, "%s: warning: %s\n", w.Pos, w.Msg)
		}
		fmt.Fprintf(out, "%s: ok (%d listeners, %d destinations, %d routes)\n", f, len(cfg.Listeners), len(cfg.Destinations), len(cfg.Routes))
		return true
	}
	if _, err := (&transforms.Loader{Builtins: maps.FS}).Load(f); err != nil {
		var le transforms.LoadErrors
		if errors.As(err, &le) {
			for _, e := range le {
				fmt.Fprintln(out, e.Error())
			}
		} else {
			fmt.Fprintf(out, "%s: %v\n", f, err)
		}
		return false
	}
	fmt.Fprintf(out, "%s: ok\n", f)
	return true
}

// isRoutesFile tells a routes file from a rule file by its top-level keys.
func isRoutesFile(f string) bool {
	src, err := os.ReadFile(f)
	if err != nil || !transforms.IsBuiltin(f) && bytes.Contains(src, []byte("\nresources:")) {
		return false
	}
	file, err := parser.ParseBytes(src, 0)
	if err != nil || len(file.Docs) == 0 {
		// routes.yaml by name: let the config check report the syntax
		return err != nil && (bytes.Contains(src, []byte("listeners:")) || bytes.Contains(src, []byte("routes:")))
	}
	var values []*ast.MappingValueNode
	switch b := file.Docs[0].Body.(type) {
	case *ast.MappingNode:
		values = b.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{b}
	}
	for _, mv := range values {
		switch mv.Key.String() {
		case "listeners", "routes", "destinations":
			return true
		}
	}
	return false
}

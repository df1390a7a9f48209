package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate RULES...",
		Short: "Check rule files without running anything",
		Long: `Compile rule files as the engine would at start: every expression, every FHIR
element path and type, every vocabulary map named. Each problem is printed with
file:line:column, all of them, not only the first. Exit status 1 when any file
has a problem.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, f := range args {
				if _, err := (&transforms.Loader{Builtins: maps.FS}).Load(f); err != nil {
					bad++
					var le transforms.LoadErrors
					if errors.As(err, &le) {
						for _, e := range le {
							fmt.Fprintln(cmd.OutOrStdout(), e.Error())
						}
					} else {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: %v\n", f, err)
					}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", f)
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files have problems", bad, len(args))}
			}
			return nil
		},
	}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/transforms/maps"
)

func newMapsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maps",
		Short: "Look into the built-in maps",
	}
	cmd.AddCommand(newMapsCoverageCmd())
	return cmd
}

func newMapsCoverageCmd() *cobra.Command {
	var ig, src string
	var markdown bool
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "Which rows of the v2-to-FHIR IG the built-in maps implement, and why not the others",
		Long: `Read the built-in maps, the IG's mapping tables and the data type converters'
documentation, and tell for every row with a FHIR target of the segment and data
type maps the built-in maps use whether it is implemented, explained (a "Not
implemented" comment gives the reason) or neither. How the maps' comments are
read: go doc github.com/plexus-hl7/plexus/transforms/maps.

Without --markdown: a summary per message map, the rows of the IG's "Ready for
Ballot" maps that are neither, and the comments that could not be used. With
--markdown: the full report, as transforms/maps/COVERAGE.md holds it (run from
the repository's root, so that --src finds the converters' source).

The IG tables are not built in: --ig names the folder (the v2-to-fhir folder,
holding segments/, datatypes/, messages/ and the inventory CSVs).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			igDir, err := findIG(ig, cmd.Flags().Changed("ig"))
			if err != nil {
				return err
			}
			opt := maps.CoverageOptions{IG: os.DirFS(igDir)}
			if src != "" {
				if _, err := os.Stat(src); err != nil {
					if cmd.Flags().Changed("src") {
						return fmt.Errorf("--src: %w", err)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "plexus: the converters' source (%s) is not here: data type maps left out; run from the repository's root or pass --src\n", src)
				} else if opt.Converters, err = maps.DatatypeConverters(os.DirFS(src)); err != nil {
					return &exitError{1, err}
				}
			}
			cov, err := maps.ComputeCoverage(opt)
			if err != nil {
				return &exitError{1, err}
			}
			out := cmd.OutOrStdout()
			if markdown {
				_, err := out.Write(cov.Markdown())
				return err
			}
			return coverageSummary(out, cov)
		},
	}
	cmd.Flags().StringVar(&ig, "ig", "", "the IG's mapping tables, the v2-to-fhir folder (default $PLEXUS_IG, else ../shared/v2-to-fhir)")
	cmd.Flags().StringVar(&src, "src", filepath.Join("transforms", "datatype"), `the data type converters' source, whose comments say which components they implement; "" leaves data type maps out`)
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the full report (COVERAGE.md)")
	return cmd
}

// findIG picks the IG folder: the flag, else $PLEXUS_IG, else the copy
// beside the repository.
func findIG(flag string, set bool) (string, error) {
	dir := flag
	if !set {
		dir = os.Getenv("PLEXUS_IG")
		if dir == "" {
			dir = filepath.Join("..", "shared", "v2-to-fhir")
		}
	}
	if _, err := fs.Stat(os.DirFS(dir), "segments"); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no IG mapping tables in %s (no segments/ folder): pass --ig DIR, the v2-to-fhir folder (github.com/HL7/v2-to-fhir, mappings/)", dir)
		}
		return "", fmt.Errorf("the IG mapping tables: %w", err)
	}
	return dir, nil
}

func coverageSummary(out io.Writer, cov *maps.Coverage) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MAP\tIG MESSAGE MAP\tIG STATUS\tSEGMENT MAPS\tROWS\tIMPLEMENTED\tEXPLAINED\tNEITHER")
	for _, m := range cov.Messages {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", m.Map, m.Message, m.Status, len(m.SegmentMaps), m.Rows, m.Implemented, m.Explained, m.Neither)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range cov.Skipped {
		fmt.Fprintf(out, "not an IG message map: %s\n", s)
	}
	if n := len(cov.Datatypes); n > 0 {
		var rows, impl, expl int
		for _, m := range cov.Datatypes {
			for _, r := range m.Rows {
				for _, st := range r.By {
					rows++
					switch st.Status {
					case maps.Implemented:
						impl++
					case maps.Explained:
						expl++
					}
				}
			}
		}
		fmt.Fprintf(out, "data type maps: %d, rows %d: %d implemented, %d explained, %d neither\n", n, rows, impl, expl, rows-impl-expl)
	}
	if gaps := cov.Gaps(true); len(gaps) > 0 {
		fmt.Fprintf(out, "\nNeither implemented nor explained (%d rows of \"Ready for Ballot\" maps):\n", len(gaps))
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, g := range gaps {
			fmt.Fprintf(tw, "  %s\n", g)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(cov.Notes) > 0 {
		fmt.Fprintf(out, "\nComments not understood (they explain nothing):\n")
		for _, n := range cov.Notes {
			fmt.Fprintf(out, "  %s\n", n)
		}
	}
	return nil
}

package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/hl7"
)

func newParseCmd() *cobra.Command {
	var raw bool
	var paths []string
	var fallback string
	cmd := &cobra.Command{
		Use:   "parse FILE...",
		Short: "Print HL7 v2 messages as a tree of named fields, to debug a feed",
		Long: `Parse HL7 v2 messages (files, batch files, or - for standard input) and print
each as a tree: every non-empty field, repetition, component and subcomponent
named by its path (PID-3[2].4.1) with its text, escapes decoded.

With --path, print only the values at the given paths, one per line.
A message that does not parse is reported with where it goes wrong, and the
exit status is 1.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var compiled []hl7.Path
			for _, p := range paths {
				c, err := hl7.ParsePath(p)
				if err != nil {
					return err
				}
				compiled = append(compiled, c)
			}
			out := cmd.OutOrStdout()
			msgs, failed := readMessages(cmd.InOrStdin(), args, out)
			for i, in := range msgs {
				if i > 0 {
					fmt.Fprintln(out)
				}
				m, err := hl7.ParseWith(in.raw, hl7.ParseOptions{FallbackCharset: fallback})
				if err != nil {
					failed++
					fmt.Fprintf(out, "%s: does not parse\n", in.name)
					for _, e := range hl7.Errors(err) {
						fmt.Fprintf(out, "  %s\n", e.Error())
					}
					continue
				}
				if len(compiled) > 0 {
					for j, p := range compiled {
						fmt.Fprintf(out, "%s\t%s\t%s\n", in.name, paths[j], m.Get(p).String())
					}
					continue
				}
				printTree(out, in.name, m, raw)
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d inputs did not parse", failed)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "show values as on the wire (escaped) instead of decoded text")
	cmd.Flags().StringArrayVarP(&paths, "path", "p", nil, "print only the value at this path (repeatable), e.g. -p PID-5.1")
	cmd.Flags().StringVar(&fallback, "fallback-charset", "", "character set for messages whose bytes contradict MSH-18 (e.g. 8859/1)")
	return cmd
}

func printTree(out io.Writer, name string, m *hl7.Message, raw bool) {
	h := m.Header()
	cs := h.Charset
	if cs == "" {
		cs = "not declared"
	}
	fmt.Fprintf(out, "%s: %s  control ID %q  version %s  charset %s  %d segments\n",
		name, m.Segment(0).Field(9).String(), h.ControlID, h.Version, cs, m.Len())
	for _, w := range m.Warnings() {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	if err := m.CheckHeader(); err != nil {
		for _, e := range hl7.Errors(err) {
			fmt.Fprintf(out, "  error: %s\n", e.Error())
		}
	}
	text := func(v hl7.Value) string {
		if raw {
			return string(v.Raw())
		}
		if v.IsNull() {
			return `"" (null)`
		}
		return strconv.Quote(v.String())
	}
	seen, total := map[string]int{}, map[string]int{}
	for i := 0; i < m.Len(); i++ {
		total[m.Segment(i).ID()]++
	}
	for i := 0; i < m.Len(); i++ {
		s := m.Segment(i)
		id := s.ID()
		seen[id]++
		label := id
		if total[id] > 1 {
			label = fmt.Sprintf("%s[%d]", id, seen[id])
		}
		fmt.Fprintf(out, "%s\n", label)
		for f := 1; f <= s.Fields(); f++ {
			fv := s.Field(f)
			if fv.IsEmpty() {
				continue
			}
			fp := fmt.Sprintf("%s-%d", label, f)
			if (id == "MSH" || id == "FHS" || id == "BHS") && f <= 2 {
				fmt.Fprintf(out, "  %-18s %s\n", fp, strconv.Quote(string(fv.Raw())))
				continue
			}
			reps := fv.Reps()
			for r := 1; r <= reps; r++ {
				rv := fv.Rep(r)
				rp := fp
				if reps > 1 {
					rp = fmt.Sprintf("%s[%d]", fp, r)
				}
				if rv.IsEmpty() {
					continue
				}
				fmt.Fprintf(out, "  %-18s %s\n", rp, text(rv))
				comps := rv.Components()
				if comps == 1 && rv.Subcomponents() == 1 {
					continue
				}
				for c := 1; c <= comps; c++ {
					cv := rv.Component(c)
					if cv.IsEmpty() {
						continue
					}
					cp := fmt.Sprintf("%s.%d", rp, c)
					fmt.Fprintf(out, "    %-16s %s\n", cp, text(cv))
					if subs := cv.Subcomponents(); subs > 1 {
						for sc := 1; sc <= subs; sc++ {
							if sv := cv.Sub(sc); !sv.IsEmpty() {
								fmt.Fprintf(out, "      %-14s %s\n", fmt.Sprintf("%s.%d", cp, sc), text(sv))
							}
						}
					}
				}
			}
		}
	}
}

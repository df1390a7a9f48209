// Command gen writes the vocab package's embedded data from the vocabulary
// maps of the HL7 v2-to-FHIR IG:
//
//	go run ./transforms/vocab/internal/gen -ig ../shared/v2-to-fhir -out transforms/vocab
//
// or, from transforms/vocab, go generate. It reads the Code System inventory
// and every vocabulary/*.csv with encoding/csv, finds each file's columns from
// its two header rows, and fails on any header or cell it does not know where
// to put. -v prints each map's column layout and counts.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plexus-hl7/plexus/transforms/vocab/internal/vocabgen"
)

func main() {
	ig := flag.String("ig", "", "the IG's mapping tables: the folder holding vocabulary/ (required)")
	out := flag.String("out", "", "the vocab package folder to write into (required)")
	verbose := flag.Bool("v", false, "print each map's layout and counts")
	flag.Parse()
	log.SetFlags(0)
	if *ig == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	files, g, st, err := vocabgen.Generate(*ig)
	if err != nil {
		log.Fatal("gen: ", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(*out, n), files[n], 0o644); err != nil {
			log.Fatal("gen: ", err)
		}
	}
	if *verbose {
		for _, m := range g.Maps {
			fmt.Fprintf(os.Stderr, "%-58s %-5s %4d rows  %s\n", m.Name, m.Table, len(m.Rows), m.Layout)
		}
		for _, e := range g.Inventory {
			if e.Map == "" {
				fmt.Fprintf(os.Stderr, "inventory only: %s %s (%s)\n", e.Name, e.Table, e.Status)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "gen: %d maps (%d header-only), %d rows, %d inventory entries, %d strings: %s %d bytes\n",
		st.Maps, st.Empty, st.Rows, st.Inventory, st.Strings, strings.Join(names, ", "), st.Bytes)
}

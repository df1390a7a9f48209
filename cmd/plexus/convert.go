package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

func newConvertCmd() *cobra.Command {
	var (
		mapName  string
		out      string
		pretty   bool
		check    bool
		fallback string
	)
	cmd := &cobra.Command{
		Use:   "convert [--map MAP|RULES] FILE...",
		Short: "Convert HL7 v2 messages to FHIR R4 Bundles offline",
		Long: `Convert HL7 v2 messages (files, batch files, or - for standard input) to FHIR R4
Bundle JSON without running the engine: with --map, a built-in map by name or a
rule file (the way to test a rule file on real messages before deploying it);
without it, the built-in map of each message's structure (MSH-9), and "no
built-in map for ADT^A45" for a message that has none.

--out DIR writes one FILE.json per message (FILE#n.json for files with several);
--out - (the default) writes the Bundles to standard output, one per line (or
indented with --pretty). --check also validates every Bundle with an
independent FHIR R4 validator (@medplum/core; needs node and the packages of
internal/fhirvalidate/testdata/node). A summary line goes to standard error;
the exit status is 1 when any message failed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rules *transforms.Rules
			if mapName != "" {
				var err error
				rules, err = (&transforms.Loader{Builtins: maps.FS}).Load(mapName)
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("rules:\n%w", err)}
				}
			}
			msgs, unread := readMessages(cmd.InOrStdin(), args, cmd.ErrOrStderr())
			var err error
			var validator *fhirvalidate.Validator
			if check {
				ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
				validator, err = fhirvalidate.New(ctx)
				cancel()
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("--check: %w", err)}
				}
				defer validator.Close()
			}
			if out != "-" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return &exitError{code: 1, err: err}
				}
			}
			c := converter{rules: rules, builtins: map[string]*transforms.Rules{}, out: out, pretty: pretty, validator: validator, fallback: fallback,
				stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), progress: isTerminal(cmd.ErrOrStderr()) && len(msgs) > 20}
			err = c.run(cmd.Context(), msgs)
			if err == nil && unread > 0 {
				err = &exitError{code: 1, err: fmt.Errorf("%d inputs could not be read", unread)}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&mapName, "map", "", "built-in map (e.g. adt_a01) or rule file to convert with")
	f.StringVar(&out, "out", "-", "directory for the Bundles, or - for standard output")
	f.BoolVar(&pretty, "pretty", false, "indent the JSON")
	f.BoolVar(&check, "check", false, "validate each Bundle with an independent FHIR R4 validator")
	f.StringVar(&fallback, "fallback-charset", "", "character set for messages whose bytes contradict MSH-18 (e.g. 8859/1)")
	return cmd
}

type converter struct {
	rules     *transforms.Rules            // --map; nil: the built-in map of each message
	builtins  map[string]*transforms.Rules // built-in maps loaded so far
	out       string
	pretty    bool
	validator *fhirvalidate.Validator
	fallback  string
	stdout    io.Writer
	stderr    io.Writer
	progress  bool
}

func (c *converter) run(ctx context.Context, msgs []inputMessage) error {
	start := time.Now()
	converted, skipped, failed, warned := 0, 0, 0, 0
	for i, in := range msgs {
		if ctx.Err() != nil {
			break
		}
		if c.progress {
			fmt.Fprintf(c.stderr, "\r%d/%d converted, %d failed", i, len(msgs), failed)
		}
		outcome, warnings := c.one(ctx, in)
		switch outcome {
		case convertedOK:
			converted++
		case convertSkipped:
			skipped++
		default:
			failed++
		}
		if warnings {
			warned++
		}
	}
	if c.progress {
		fmt.Fprint(c.stderr, "\r\033[K")
	}
	summary := fmt.Sprintf("%d converted, ", converted)
	if skipped > 0 {
		summary += fmt.Sprintf("%d not converted (no resources), ", skipped)
	}
	fmt.Fprintf(c.stderr, "%s%d failed, %d with warnings, in %s\n", summary, failed, warned, time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// convertOutcome is what became of one message.
type convertOutcome int

const (
	convertFailed convertOutcome = iota
	convertedOK
	// convertSkipped: without --map, a message the built-in maps rightly
	// make nothing of (an ACK), as the engine's transform: builtin does.
	convertSkipped
)

// one converts one message and reports what went wrong on stderr.
func (c *converter) one(ctx context.Context, in inputMessage) (convertOutcome, bool) {
	const ok, failed = convertedOK, convertFailed
	m, err := hl7.ParseWith(in.raw, hl7.ParseOptions{FallbackCharset: c.fallback})
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: does not parse: %v\n", in.name, err)
		return failed, false
	}
	rules := c.rules
	if rules == nil {
		h := m.Header()
		if why := maps.NoResources(h); why != "" {
			fmt.Fprintf(c.stderr, "%s: %s^%s: %s\n", in.name, h.Type, h.Event, why)
			return convertSkipped, false
		}
		if rules, err = c.builtin(h); err != nil {
			fmt.Fprintf(c.stderr, "%s: %v\n", in.name, err)
			return failed, false
		}
	}
	res, err := rules.Convert(m)
	for _, w := range res.Warnings {
		fmt.Fprintf(c.stderr, "%s: warning: %s\n", in.name, w)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(c.stderr, "%s: error: %s\n", in.name, e)
	}
	if err != nil {
		return failed, len(res.Warnings) > 0
	}
	if c.validator != nil {
		issues, err := c.validator.Validate(ctx, res.Bundle)
		if err != nil {
			fmt.Fprintf(c.stderr, "%s: validator: %v\n", in.name, err)
			return failed, true
		}
		if errs := fhirvalidate.Errors(issues); len(errs) > 0 {
			for _, is := range errs {
				fmt.Fprintf(c.stderr, "%s: invalid FHIR: %s\n", in.name, is)
			}
			return failed, true
		}
	}
	data := res.Bundle
	if c.pretty {
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "  "); err == nil {
			data = buf.Bytes()
		}
	}
	data = append(data, '\n')
	if c.out == "-" {
		_, err = c.stdout.Write(data)
	} else {
		err = writeFileAtomic(filepath.Join(c.out, outputName(in)), data)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: write: %v\n", in.name, err)
		return failed, len(res.Warnings) > 0
	}
	return ok, len(res.Warnings) > 0
}

// builtin loads (once) the built-in map that Select names for a message.
func (c *converter) builtin(h hl7.Header) (*transforms.Rules, error) {
	name, err := maps.Select(h)
	if err != nil {
		return nil, err
	}
	if r, ok := c.builtins[name]; ok {
		return r, nil
	}
	r, err := (&transforms.Loader{Builtins: maps.FS}).Load(name)
	if err != nil {
		return nil, fmt.Errorf("built-in map %s: %w", name, err)
	}
	c.builtins[name] = r
	return r, nil
}

// outputName is FILE.json for a file's only message, FILE-n.json otherwise.
func outputName(in inputMessage) string {
	base := "stdin"
	if in.file != "-" {
		base = strings.TrimSuffix(filepath.Base(in.file), filepath.Ext(in.file))
	}
	if in.index > 0 {
		base += "-" + strconv.Itoa(in.index)
	}
	return base + ".json"
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it, so that a reader never sees half a Bundle.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plexus-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

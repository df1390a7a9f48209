package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/engine"
)

func newReplayCmd() *cobra.Command {
	var (
		admin, dest, typ, from, to string
		seqs                       []uint
		reroute                    bool
		timeout                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Send dead-lettered (or any) messages again, through a running engine",
		Long: `Ask a running plexus serve (its admin address) to deliver messages again.

Without --reroute the bodies made the first time are put back at the end of
their destination's outbox: use it once a destination is fixed. With
--reroute the messages go through routing and conversion again: use it once a
rule or route is fixed.

Without --seq every dead letter is taken (of --destination, if given);
--type (MSH-9 prefix, e.g. ADT or ADT^A01), --from and --to (RFC 3339 times
of receipt) narrow the choice. With --seq those messages are taken whatever
their state.`,
		Example: `  plexus replay --destination ehr
  plexus replay --seq 1042 --seq 1043 --reroute
  plexus replay --type ORU --from 2026-11-23T08:00:00Z --to 2026-11-23T09:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := engine.ReplayRequest{Destination: dest, Type: typ, Reroute: reroute}
			for _, s := range seqs {
				req.Seqs = append(req.Seqs, uint64(s))
			}
			for _, t := range []struct {
				s   string
				dst *time.Time
			}{{from, &req.From}, {to, &req.To}} {
				if t.s == "" {
					continue
				}
				v, err := time.Parse(time.RFC3339, t.s)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("time %q: want RFC 3339, e.g. 2026-11-23T08:00:00Z", t.s)}
				}
				*t.dst = v
			}
			body, _ := json.Marshal(req)
			base := admin
			if !strings.Contains(base, "://") {
				base = "http://" + base
			}
			c := &http.Client{Timeout: timeout}
			resp, err := c.Post(strings.TrimRight(base, "/")+"/api/replay", "application/json", bytes.NewReader(body))
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("replay: %w (is plexus serve running with --admin %s?)", err, admin)}
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if resp.StatusCode != http.StatusOK {
				var p struct{ Title, Detail string }
				if json.Unmarshal(data, &p) == nil && p.Title != "" {
					return &exitError{code: 1, err: fmt.Errorf("replay refused: %s: %s", p.Title, p.Detail)}
				}
				return &exitError{code: 1, err: fmt.Errorf("replay: %s: %s", resp.Status, bytes.TrimSpace(data))}
			}
			var res engine.ReplayResult
			if err := json.Unmarshal(data, &res); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("replay: answer: %w", err)}
			}
			out := cmd.OutOrStdout()
			if reroute {
				fmt.Fprintf(out, "%d messages rerouted\n", res.Rerouted)
			} else {
				fmt.Fprintf(out, "%d deliveries requeued\n", res.Requeued)
			}
			for _, s := range res.Skipped {
				fmt.Fprintf(out, "skipped %s\n", s)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&admin, "admin", "127.0.0.1:9900", "admin address of the running engine")
	f.StringVar(&dest, "destination", "", "only this destination")
	f.UintSliceVar(&seqs, "seq", nil, "message sequence number (repeatable)")
	f.StringVar(&typ, "type", "", "only messages whose MSH-9 starts with this (ADT, ADT^A01)")
	f.StringVar(&from, "from", "", "only messages received at or after this time (RFC 3339)")
	f.StringVar(&to, "to", "", "only messages received at or before this time (RFC 3339)")
	f.BoolVar(&reroute, "reroute", false, "route and convert again instead of resending the stored bodies")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for the engine")
	return cmd
}

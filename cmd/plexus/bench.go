package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/internal/loadgen"
	"github.com/plexus-hl7/plexus/mllp"
)

func newBenchCmd() *cobra.Command {
	var (
		to, noop string
		o        loadgen.Options
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "bench [FILE...] (--to HOST:PORT | --noop ADDR)",
		Short: "Load an MLLP listener and report throughput and ACK latency",
		Long: `Send HL7 v2 messages to an MLLP listener over several connections, each
sending the next message once the previous one is acknowledged, and report
messages per second, ACK latency percentiles, and every NAK and error.

The messages are the files' (batch files and files with several messages are
split; - reads standard input), sent in turn, or a built-in ADT^A01 (3.4 KB)
when no file is given. Each message sent gets a control id (MSH-10) of its
own, and with --patients one of N patient ids in PID-3.1. An ACK counts as
acknowledged when MSA-1 is AA or CA and MSA-2 is the control id sent.

--noop ADDR starts a receiver in this process that answers every message with
an AA at once (hl7.Ack, nothing stored), and benches it: the baseline the
engine is compared with. Use 127.0.0.1:0 for any free port.

--rate offers that many messages per second in total, whatever the replies
do (open loop); the report says when the connections could not keep up.
Without it each connection sends as fast as it is answered.

The progress line goes to standard error when it is a terminal; the report,
with a Markdown table row, to standard output (--json for JSON). The exit
status is 1 when any message was not acknowledged.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case to == "" && noop == "":
				return errors.New("give --to HOST:PORT, or --noop ADDR for the built-in receiver")
			case to != "" && noop != "":
				return errors.New("--to and --noop exclude each other")
			case !cmd.Flags().Changed("duration") && o.Count > 0:
				o.Duration = 0 // --count alone: run until the count is sent
			}
			if len(args) == 0 {
				o.Messages = [][]byte{loadgen.Sample()}
			} else {
				msgs, unread := readMessages(cmd.InOrStdin(), args, cmd.ErrOrStderr())
				if unread > 0 {
					return &exitError{code: 1, err: fmt.Errorf("%d inputs could not be read", unread)}
				}
				for _, m := range msgs {
					o.Messages = append(o.Messages, m.raw)
				}
			}
			o.Addr = to
			if noop != "" {
				addr, stop, err := startNoop(cmd.Context(), noop)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				defer stop()
				o.Addr = addr
			}
			stderr := cmd.ErrOrStderr()
			progress := isTerminal(stderr)
			if progress {
				o.Progress = func(p loadgen.Progress) { fmt.Fprint(stderr, "\r\033[K"+progressLine(p)) }
			}
			rep, err := loadgen.Run(cmd.Context(), o)
			if progress {
				fmt.Fprint(stderr, "\r\033[K")
			}
			if rep.Conns == 0 { // the run did not start
				return &exitError{code: 1, err: err}
			}
			if perr := printReport(cmd.OutOrStdout(), &rep, asJSON); perr != nil {
				return &exitError{code: 1, err: perr}
			}
			switch {
			case err != nil:
				return &exitError{code: 1, err: err}
			case rep.Failed() > 0:
				return &exitError{code: 1, err: fmt.Errorf("%d of %d messages not acknowledged", rep.Failed(), rep.Sent)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "address of the MLLP listener, host:port")
	f.StringVar(&noop, "noop", "", "start the built-in no-op receiver on this address and bench it")
	f.IntVarP(&o.Conns, "conns", "c", 8, "connections, each with one message in flight")
	f.DurationVarP(&o.Duration, "duration", "d", 10*time.Second, "how long to measure, after the warmup")
	f.Int64Var(&o.Count, "count", 0, "how many messages to measure (with --duration: whichever ends first)")
	f.Float64Var(&o.Rate, "rate", 0, "offered messages per second in total (open loop); 0: as fast as acknowledged")
	f.DurationVar(&o.Warmup, "warmup", 0, "time to send before measuring, left out of the report")
	f.Int64Var(&o.Patients, "patients", 0, "rewrite PID-3.1 with one of this many patient ids in turn")
	f.DurationVar(&o.Timeout, "timeout", loadgen.DefaultTimeout, "time to wait for each ACK, and for each connection attempt")
	f.IntVar(&o.WatchPID, "watch-pid", 0, "sample the RSS of this process (Linux) and report it")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// startNoop serves loadgen's no-op receiver on addr; stop closes it and
// waits for it to be done.
func startNoop(ctx context.Context, addr string) (string, func(), error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("no-op receiver: %w", err)
	}
	srv := loadgen.NoopServer(mllp.ServerOptions{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // ErrServerClosed once stop closes it
	}()
	return l.Addr().String(), func() {
		_ = srv.Close()
		<-done
	}, nil
}

func progressLine(p loadgen.Progress) string {
	phase := ""
	if p.Warmup {
		phase = " (warmup)"
	}
	line := fmt.Sprintf("%6.1fs%s  %8.0f msgs/s  %d sent  %d not acked",
		p.Elapsed.Seconds(), phase, p.Rate, p.Total, p.Failed)
	if p.RSS > 0 {
		line += fmt.Sprintf("  RSS %.1f MiB", float64(p.RSS)/(1<<20))
	}
	return line
}

func printReport(w io.Writer, rep *loadgen.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	_, err := fmt.Fprintf(w, "%s\n%s%s", rep, loadgen.MarkdownHeader(), rep.MarkdownRow())
	return err
}

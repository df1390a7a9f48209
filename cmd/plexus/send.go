package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

func newSendCmd() *cobra.Command {
	var (
		to                    string
		timeout               time.Duration
		useTLS                bool
		caFile, certFile, key string
		serverName            string
		quiet                 bool
	)
	cmd := &cobra.Command{
		Use:   "send FILE... --to HOST:PORT",
		Short: "Send HL7 v2 messages over MLLP and print each ACK",
		Long: `Send each message of the files (batch files and files with several messages
are split; - reads standard input) to an MLLP listener, one at a time, and
print the acknowledgement of each.

The exit status is 0 when every message was accepted (AA or CA), 1 when any
was answered AE/AR/CE/CR, not answered in time, or could not be sent.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return errors.New("--to HOST:PORT is required")
			}
			msgs, unread := readMessages(cmd.InOrStdin(), args, cmd.OutOrStdout())
			opts := mllp.ClientOptions{Timeout: timeout, BackoffMax: time.Second}
			if useTLS || caFile != "" || certFile != "" {
				cfg, err := mllp.ClientTLSConfig(caFile, certFile, key)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				if serverName != "" {
					cfg.ServerName = serverName
				}
				opts.TLSConfig = cfg
			}
			client := mllp.NewClient(to, opts)
			defer client.Close()
			err := sendAll(cmd.Context(), cmd.OutOrStdout(), client, msgs, timeout, quiet)
			if err == nil && unread > 0 {
				err = &exitError{code: 1, err: fmt.Errorf("%d inputs could not be read", unread)}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "address of the MLLP listener, host:port")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "time to wait for each ACK")
	f.BoolVar(&useTLS, "tls", false, "connect with TLS (system roots unless --tls-ca)")
	f.StringVar(&caFile, "tls-ca", "", "PEM file of the CA that signed the server certificate (implies --tls)")
	f.StringVar(&certFile, "tls-cert", "", "PEM client certificate for mutual TLS (implies --tls)")
	f.StringVar(&key, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&serverName, "tls-server-name", "", "name to verify in the server certificate (default: the host of --to)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print one summary line per message instead of the whole ACK")
	return cmd
}

// sendAll sends the messages in order and prints each ACK. It goes on after
// a failure, so that one bad message does not hide the answers to the rest.
func sendAll(ctx context.Context, out io.Writer, c *mllp.Client, msgs []inputMessage, timeout time.Duration, quiet bool) error {
	failed := 0
	for _, in := range msgs {
		sctx, cancel := context.WithTimeout(ctx, timeout)
		reply, err := c.Send(sctx, in.raw)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(out, "%s: no ACK: %v\n", in.name, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		code, summary := describeAck(reply)
		if code != string(hl7.AA) && code != string(hl7.CA) {
			failed++
		} else if want := controlID(in.raw); ackedID(reply) != want {
			// an AA for some other message is no answer to this one
			failed++
			summary += fmt.Sprintf(" -- but MSA-2 does not match the MSH-10 %q sent", want)
		}
		fmt.Fprintf(out, "%s: %s\n", in.name, summary)
		if !quiet {
			for _, seg := range strings.Split(strings.TrimRight(strings.ReplaceAll(string(reply), "\r\n", "\r"), "\r\n"), "\r") {
				fmt.Fprintf(out, "  %s\n", seg)
			}
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d messages not accepted", failed, len(msgs))}
	}
	return nil
}

func controlID(raw []byte) string {
	h, err := hl7.ParseHeaderWith(raw, hl7.ParseOptions{FallbackCharset: "8859/1"})
	if err != nil {
		return ""
	}
	return h.ControlID
}

func ackedID(reply []byte) string {
	m, err := hl7.ParseWith(reply, hl7.ParseOptions{FallbackCharset: "8859/1"})
	if err != nil {
		return ""
	}
	return m.Get(hl7.MustPath("MSA-2")).String()
}

// describeAck reads MSA-1, MSA-2 and the ERR texts of a reply.
func describeAck(reply []byte) (code, summary string) {
	m, err := hl7.ParseWith(reply, hl7.ParseOptions{FallbackCharset: "8859/1"})
	if err != nil {
		return "", fmt.Sprintf("reply is not a readable ACK: %v", err)
	}
	code = m.Get(hl7.MustPath("MSA-1")).String()
	if code == "" {
		return "", "reply has no MSA-1 acknowledgement code"
	}
	summary = fmt.Sprintf("%s (MSA-2 %q)", code, m.Get(hl7.MustPath("MSA-2")).String())
	if t := m.Get(hl7.MustPath("MSA-3")).String(); t != "" {
		summary += ": " + t
	}
	for _, e := range m.All("ERR") {
		msg := e.Field(8).String()
		if msg == "" {
			msg = e.Field(3).Component(2).String()
		}
		if msg == "" {
			msg = e.Field(1).String()
		}
		if msg != "" {
			summary += "; " + msg
		}
	}
	return code, summary
}

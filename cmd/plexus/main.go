// Command plexus is the Plexus interface engine: it receives HL7 v2 over
// MLLP, converts it to FHIR R4 and routes it. This binary also carries the
// tools an integration engineer uses around it (parse, send).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run executes the command line and returns the process exit status: 0 on
// success, 1 when the work failed (a NAK, a message that does not parse),
// 2 on a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "plexus:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "plexus:", err)
	return 2
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "plexus",
		Short:         "Plexus: an HL7 v2 to FHIR R4 interface engine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newParseCmd(), newSendCmd(), newConvertCmd(), newValidateCmd(), newBenchCmd(), newServeCmd(), newReplayCmd(), newMapsCmd())
	return root
}

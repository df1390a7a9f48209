package main

import (
	"fmt"
	"io"
	"os"

	"github.com/plexus-hl7/plexus/hl7"
)

// inputMessage is one message read from a file given on the command line.
type inputMessage struct {
	name  string // file name, with "#n" when the file holds several messages
	file  string // the file it came from ("-" for standard input)
	index int    // 1-based position in the file; 0 when the file holds one message
	raw   []byte
}

// readMessages reads each file ("-" is standard input) and splits it into
// messages (batch files and files with several messages in a row). A file
// that cannot be read or split is reported on report and skipped, so that
// one bad file does not hide the others; failed counts them.
func readMessages(stdin io.Reader, files []string, report io.Writer) (out []inputMessage, failed int) {
	for _, f := range files {
		var data []byte
		var err error
		if f == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			fmt.Fprintf(report, "%s: %v\n", f, err)
			failed++
			continue
		}
		b, err := hl7.SplitBatch(data)
		if err != nil {
			fmt.Fprintf(report, "%s: %v\n", f, err)
			failed++
			continue
		}
		msgs := b.Messages()
		for i, raw := range msgs {
			in := inputMessage{name: f, file: f, raw: raw}
			if len(msgs) > 1 {
				in.name = fmt.Sprintf("%s#%d", f, i+1)
				in.index = i + 1
			}
			out = append(out, in)
		}
	}
	return out, failed
}

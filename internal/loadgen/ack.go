package loadgen

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/plexus-hl7/plexus/mllp"
)

// outcome is what became of one sent message.
type outcome uint8

const (
	outAcked outcome = iota // MSA-1 AA or CA, MSA-2 = our control id
	outAE                   // the answers the receiver gave, by MSA-1
	outAR
	outCE
	outCR
	errMismatch // MSA-2 is not the control id sent: no answer to this message
	errBadAck   // the reply has no readable MSH and MSA, or MSA-1 is no ACK code
	errTimeout  // no reply within Options.Timeout
	errClosed   // the receiver closed the connection before replying
	errIO       // any other read or write failure
	numOutcomes
)

// String is the name used in Report.Nacked and Report.Errors.
func (o outcome) String() string {
	switch o {
	case outAcked:
		return "acked"
	case outAE:
		return "AE"
	case outAR:
		return "AR"
	case outCE:
		return "CE"
	case outCR:
		return "CR"
	case errMismatch:
		return "mismatch"
	case errBadAck:
		return "bad-ack"
	case errTimeout:
		return "timeout"
	case errClosed:
		return "closed"
	case errIO:
		return "io"
	}
	return "unknown"
}

func (o outcome) nack() bool     { return o >= outAE && o <= outCR }
func (o outcome) answered() bool { return o <= outCR }

// classifyAck checks a reply to the message whose MSH-10 was id. It reads
// only MSH-1 and MSA: a full parse per reply would load the generator, which
// shares the CPU with the receiver it measures.
func classifyAck(ack, id []byte) outcome {
	code, ctrl, ok := readMSA(ack)
	if !ok {
		return errBadAck
	}
	if !bytes.Equal(ctrl, id) {
		return errMismatch
	}
	switch string(code) { // no allocation: the conversion is only compared
	case "AA", "CA":
		return outAcked
	case "AE":
		return outAE
	case "AR":
		return outAR
	case "CE":
		return outCE
	case "CR":
		return outCR
	}
	return errBadAck
}

// readMSA returns MSA-1 and MSA-2 of an HL7 reply, as sent (a control id
// of ours never needs escaping, so comparing raw bytes is exact).
func readMSA(ack []byte) (code, ctrl []byte, ok bool) {
	if len(ack) < 4 || string(ack[:3]) != "MSH" {
		return nil, nil, false
	}
	sep := ack[3]
	for seg := range segments(ack) {
		if len(seg) < 4 || string(seg[:3]) != "MSA" || seg[3] != sep {
			continue
		}
		return field(seg, sep, 1), field(seg, sep, 2), true
	}
	return nil, nil, false
}

// classifyErr names a failed round trip.
func classifyErr(err error) outcome {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return errClosed
	case errors.Is(err, mllp.ErrFrameTooLarge):
		return errBadAck
	}
	return errIO
}

package loadgen

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/plexus-hl7/plexus/mllp"
)

func TestClassifyAck(t *testing.T) {
	const msh = "MSH|^~\\&|R|F|S|F|20260101||ACK^A01^ACK|X|P|2.5.1\r"
	for _, tc := range []struct {
		reply string
		want  outcome
	}{
		{msh + "MSA|AA|ID1\r", outAcked},
		{msh + "MSA|CA|ID1", outAcked}, // no final terminator
		{"MSH|^~\\&|R\nMSA|AA|ID1|fine\n", outAcked},
		{"MSH|^~\\&|R\r\nERR|x\r\nMSA|AA|ID1\r\n", outAcked},
		{"MSH#^~\\&#R\rMSA#AA#ID1\r", outAcked},
		{msh + "MSA|AE|ID1|bad\rERR|||207\r", outAE},
		{msh + "MSA|AR|ID1\r", outAR},
		{msh + "MSA|CE|ID1\r", outCE},
		{msh + "MSA|CR|ID1\r", outCR},
		{msh + "MSA|AA|ID2\r", errMismatch},
		{msh + "MSA|AR|ID10\r", errMismatch},
		{msh + "MSA|AA\r", errMismatch},
		{msh + "MSA|XX|ID1\r", errBadAck},
		{msh, errBadAck},
		{"MSA|AA|ID1\r", errBadAck},
		{"", errBadAck},
		{msh + "MSAX|AA|ID1\r", errBadAck},
	} {
		if got := classifyAck([]byte(tc.reply), []byte("ID1")); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.reply, got, tc.want)
		}
	}
}

func TestClassifyAckAllocatesNothing(t *testing.T) {
	reply := []byte("MSH|^~\\&|R|F|S|F|20260101||ACK^A01^ACK|X|P|2.5.1\rMSA|CR|ID1\r")
	id := []byte("ID1")
	if n := testing.AllocsPerRun(100, func() { classifyAck(reply, id) }); n != 0 {
		t.Errorf("%v allocations per reply", n)
	}
}

func TestClassifyErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want outcome
	}{
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), errTimeout},
		{io.EOF, errClosed},
		{fmt.Errorf("mllp: %w", io.ErrUnexpectedEOF), errClosed},
		{fmt.Errorf("write: %w", syscall.EPIPE), errClosed},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), errClosed},
		{&mllp.FrameTooLargeError{}, errBadAck},
		{errors.New("something else"), errIO},
	} {
		if got := classifyErr(tc.err); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}

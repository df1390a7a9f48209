package loadgen

import (
	"context"
	"sync"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// NoopHandler answers every message at once with an AA built by hl7.Ack,
// and keeps nothing: the least an HL7 receiver can do (read the frame,
// parse the message, build and write the ACK). It is the baseline the
// engine's throughput is compared with. A message that does not parse is
// answered by hl7.RejectRaw.
func NoopHandler() mllp.Handler {
	// Connections run the handler concurrently; a pool gives each call a
	// parsed-message index to reuse, so parsing allocates nothing.
	pool := &sync.Pool{New: func() any { return new(hl7.Message) }}
	return mllp.HandlerFunc(func(_ context.Context, _ mllp.ConnInfo, msg []byte) []byte {
		m := pool.Get().(*hl7.Message)
		defer pool.Put(m)
		if err := hl7.ParseInto(m, msg, hl7.ParseOptions{}); err != nil {
			return hl7.RejectRaw(msg, err, hl7.AckOptions{})
		}
		return hl7.Ack(m, hl7.AA, hl7.AckOptions{})
	})
}

// NoopServer returns an mllp.Server with NoopHandler.
func NoopServer(opts mllp.ServerOptions) *mllp.Server {
	return mllp.NewServer(NoopHandler(), opts)
}

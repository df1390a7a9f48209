package mllp

import "sync/atomic"

// Stats is a snapshot of a Server's counters. All are cumulative except
// ConnsActive.
type Stats struct {
	ConnsAccepted      int64 // connections accepted and served
	ConnsActive        int64 // connections open now
	ConnsRejected      int64 // closed at once: over MaxConns or shutting down
	TLSHandshakeErrors int64
	Frames             int64 // frames received and handed to the handler
	FrameBytes         int64 // content bytes of those frames
	Replies            int64 // replies written
	BytesDiscarded     int64 // bytes outside frames, skipped
	OversizeFrames     int64 // frames over MaxFrameSize
	IncompleteFrames   int64 // frames cut short by a close, error or ReadTimeout
	IdleTimeouts       int64 // connections closed by IdleTimeout
	WriteErrors        int64 // replies that could not be written
	HandlerPanics      int64
}

type serverStats struct {
	accepted, active, rejected, tlsErrors   atomic.Int64
	frames, frameBytes, replies, discarded  atomic.Int64
	oversize, incomplete, idle, writeErrors atomic.Int64
	panics                                  atomic.Int64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	st := &s.stats
	return Stats{
		ConnsAccepted:      st.accepted.Load(),
		ConnsActive:        st.active.Load(),
		ConnsRejected:      st.rejected.Load(),
		TLSHandshakeErrors: st.tlsErrors.Load(),
		Frames:             st.frames.Load(),
		FrameBytes:         st.frameBytes.Load(),
		Replies:            st.replies.Load(),
		BytesDiscarded:     st.discarded.Load(),
		OversizeFrames:     st.oversize.Load(),
		IncompleteFrames:   st.incomplete.Load(),
		IdleTimeouts:       st.idle.Load(),
		WriteErrors:        st.writeErrors.Load(),
		HandlerPanics:      st.panics.Load(),
	}
}

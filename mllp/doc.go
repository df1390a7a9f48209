// Package mllp implements the Minimal Lower Layer Protocol, the framing HL7 v2
// messages travel in over TCP: each message is sent as
//
//	<VT> message <FS><CR>      (0x0b ... 0x1c 0x0d)
//
// and, in HL7's original acknowledgment mode, answered on the same connection
// with one ACK frame before the next message is sent.
//
// The package knows nothing of HL7 beyond those bytes and depends only on the
// standard library. It has three parts:
//
//   - Reader and Writer frame and unframe messages over any stream. The
//     Reader is lenient where real senders are sloppy (bytes before <VT> are
//     skipped and counted; a missing <CR> after <FS> is accepted without
//     waiting for it) and strict where a peer could hurt the receiver: a
//     frame larger than the limit is skipped in bounded chunks and reported
//     as a *FrameTooLargeError carrying the frame's first bytes, so memory
//     stays bounded whatever the peer sends.
//   - Server accepts connections (plain TCP, TLS or mutual TLS), serves each
//     in its own goroutine, hands every message to a Handler in the order
//     received and writes the reply the Handler returns. It enforces read,
//     idle and write timeouts and a connection limit, counts what it sees
//     (Stats), and shuts down gracefully: in-flight messages are answered
//     before their connections close.
//   - Client sends a message and waits for the reply, connecting lazily,
//     reconnecting with backoff, and never matching a late reply to the
//     wrong message.
//
// Message content is never logged: HL7 messages carry patient data. Logs
// name connections, addresses, sizes and errors only.
package mllp

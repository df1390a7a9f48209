package store

import (
	"encoding/binary"
	"errors"
)

// Records are stored in a small binary form: unsigned varints and
// length-prefixed byte strings, field after field, with a leading format
// version so that later releases can read old data. It is faster and
// smaller than JSON on the ingest path, and the layout is private to
// this package.

var errCorrupt = errors.New("store: corrupt record")

type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }

type dec struct {
	b   []byte
	err error
}

func (d *dec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) str() string { return string(d.bytes()) }

// Keys: one prefix byte per table, numbers big-endian so that byte order is
// numeric order, strings ended by 0 (names and control ids never hold NUL:
// the ingest path rejects messages with NUL bytes).
const (
	tJournal  = 'j' // j seq                      -> Record
	tPending  = 'q' // q seq                      -> "" (journaled, not yet routed)
	tControl  = 'c' // c sender 0 controlID       -> seq, received (the latest with that id)
	tOutcome  = 'r' // r seq                      -> Outcome
	tBody     = 'b' // b seq route 0              -> converted body of one route
	tOutbox   = 'o' // o dest 0 oseq              -> OutboxEntry
	tOutboxOf = 'k' // k dest 0 key 0 oseq       -> "" (the outbox by partition key)
	tStatus   = 's' // s seq route 0 dest         -> Delivery
	tDead     = 'x' // x dest 0 seq route         -> "" (dead letters, for replay)
	tPatient  = 'p' // p key 0 seq                -> ""
	tMeta     = 'm' // m name                     -> value

	// the browser's indexes (index.go), each -> ""
	tByType    = 'y' // y type 0 seq (MSH-9.1, and MSH-9.1^MSH-9.2)
	tBySender  = 'e' // e sender 0 seq (MSH-3, and MSH-3|MSH-4)
	tByControl = 'i' // i controlID 0 seq
	tByStatus  = 'z' // z status seq (not accepted: rejected, duplicate)
	tByOutcome = 'f' // f state seq (not routed: unrouted, failed, skipped)
)

func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func key(t byte, parts ...string) []byte {
	n := 1
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 1, n+8)
	b[0] = t
	for i, p := range parts {
		b = append(b, p...)
		if i < len(parts)-1 {
			b = append(b, 0)
		}
	}
	return b
}

func seqKey(t byte, seq uint64) []byte { return be64([]byte{t}, seq) }

// prefixEnd returns the first key after every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

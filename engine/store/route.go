package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// OutcomeState is what routing made of an accepted message.
type OutcomeState uint8

const (
	// Routed: at least one route matched and produced deliveries.
	Routed OutcomeState = 1 + iota
	// Unrouted: no route matched.
	Unrouted
	// Failed: the message could not be parsed or every matching route's
	// transform failed; Error says why.
	Failed
	// Skipped: routes matched but none made anything of the message, and
	// rightly: an acknowledgment under `transform: builtin` carries no
	// resources. It is kept for the browser, as an unrouted one is.
	Skipped
)

func (s OutcomeState) String() string {
	switch s {
	case Routed:
		return "routed"
	case Unrouted:
		return "unrouted"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return fmt.Sprintf("outcome(%d)", uint8(s))
}

// Outcome is the result of routing one message.
type Outcome struct {
	State OutcomeState
	// Key is the partition key the pipeline used (the patient).
	Key string
	// Errors holds one line per route that failed (transform errors).
	Errors []string
	At     time.Time
	// Received is the message's journal time, copied to its deliveries.
	Received time.Time
}

// Output is what one route made of a message: a body and the destinations
// it goes to.
type Output struct {
	Route       string
	ContentType string
	Body        []byte
	Dests       []string
	// Keys holds the partition key of destinations that have their own
	// (the outcome's Key is the others').
	Keys map[string]string
}

// DeliveryState is where one (message, route, destination) stands.
type DeliveryState uint8

const (
	Pending DeliveryState = 1 + iota
	Delivered
	Dead
)

func (s DeliveryState) String() string {
	switch s {
	case Pending:
		return "pending"
	case Delivered:
		return "delivered"
	case Dead:
		return "dead"
	}
	return fmt.Sprintf("delivery(%d)", uint8(s))
}

// Delivery is one entry of a destination's outbox.
type Delivery struct {
	Dest        string
	OSeq        uint64 // outbox order: the order the destination gets them in
	Seq         uint64
	Route       string
	Key         string
	ContentType string
	Attempts    int
	// Received is when the inbound message was journaled (for end-to-end
	// latency and the retry policy's max age).
	Received time.Time
	Body     []byte // read from the route's body when the entry is loaded
}

// Status is the state of one delivery as the browser shows it.
type DeliveryStatus struct {
	Route, Dest string
	State       DeliveryState
	Attempts    int
	Updated     time.Time
	LastError   string
	Detail      []byte // the endpoint's answer (OperationOutcome, ACK)
}

func (o *Outcome) encode() []byte {
	e := enc{}
	e.uvarint(1)
	e.uvarint(uint64(o.State))
	e.str(o.Key)
	e.uvarint(uint64(o.At.UnixNano()))
	e.uvarint(uint64(len(o.Errors)))
	for _, s := range o.Errors {
		e.str(s)
	}
	return e.b
}

func (d *Delivery) encode() []byte {
	e := enc{}
	e.uvarint(1)
	e.uvarint(d.Seq)
	e.str(d.Route)
	e.str(d.Key)
	e.str(d.ContentType)
	e.uvarint(uint64(d.Attempts))
	e.uvarint(uint64(d.Received.UnixNano()))
	return e.b
}

func decodeDelivery(dest string, oseq uint64, v []byte) (*Delivery, error) {
	d := dec{b: v}
	d.uvarint()
	out := &Delivery{Dest: dest, OSeq: oseq, Seq: d.uvarint(), Route: d.str(), Key: d.str(), ContentType: d.str(), Attempts: int(d.uvarint())}
	out.Received = time.Unix(0, int64(d.uvarint()))
	if d.err != nil {
		return nil, fmt.Errorf("outbox entry %s/%d: %w", dest, oseq, d.err)
	}
	return out, nil
}

func (s *DeliveryStatus) encode() []byte {
	e := enc{}
	e.uvarint(1)
	e.uvarint(uint64(s.State))
	e.uvarint(uint64(s.Attempts))
	e.uvarint(uint64(s.Updated.UnixNano()))
	e.str(s.LastError)
	e.bytes(s.Detail)
	return e.b
}

func decodeStatus(route, dest string, v []byte) (DeliveryStatus, error) {
	d := dec{b: v}
	d.uvarint()
	st := DeliveryStatus{Route: route, Dest: dest, State: DeliveryState(d.uvarint()), Attempts: int(d.uvarint())}
	st.Updated = time.Unix(0, int64(d.uvarint()))
	st.LastError = d.str()
	st.Detail = bytes.Clone(d.bytes())
	return st, d.err
}

func outboxKey(dest string, oseq uint64) []byte { return be64(key(tOutbox, dest, ""), oseq) }

func keyIndex(dest, k string, oseq uint64) []byte { return be64(key(tOutboxOf, dest, k, ""), oseq) }

func statusKey(seq uint64, route, dest string) []byte {
	k := seqKey(tStatus, seq)
	k = append(k, route...)
	k = append(k, 0)
	return append(k, dest...)
}

func bodyKey(seq uint64, route string) []byte {
	return append(append(seqKey(tBody, seq), route...), 0)
}

func deadKey(dest string, seq uint64, route string) []byte {
	return append(be64(key(tDead, dest, ""), seq), route...)
}

// Route records the routing of message seq in one write: its outcome, each
// route's body, an outbox entry and a pending status per destination, the
// patient index; the message leaves the pending list. It returns the new
// outbox entries (without bodies) in outbox order. Not synced: see the
// package comment.
func (s *DB) Route(seq uint64, o Outcome, outs []Output) ([]*Delivery, error) {
	b := s.db.NewBatch()
	defer b.Close()
	if o.At.IsZero() {
		o.At = time.Now()
	}
	if err := b.Delete(seqKey(tPending, seq), nil); err != nil {
		return nil, err
	}
	if err := b.Set(seqKey(tOutcome, seq), o.encode(), nil); err != nil {
		return nil, err
	}
	if k := outcomeIndexKey(o.State, seq); k != nil {
		if err := b.Set(k, nil, nil); err != nil {
			return nil, err
		}
	}
	if o.Key != "" {
		if err := b.Set(be64(append(key(tPatient, o.Key), 0), seq), nil, nil); err != nil {
			return nil, err
		}
	}
	pending := (&DeliveryStatus{State: Pending, Updated: o.At}).encode()
	var ds []*Delivery
	for _, out := range outs {
		if err := b.Set(bodyKey(seq, out.Route), bodyValue(out.ContentType, out.Body), nil); err != nil {
			return nil, err
		}
		for _, dest := range out.Dests {
			k := o.Key
			if dk, ok := out.Keys[dest]; ok {
				k = dk
			}
			ds = append(ds, &Delivery{Dest: dest, Seq: seq, Route: out.Route, Key: k, ContentType: out.ContentType, Received: o.Received})
			if err := b.Set(statusKey(seq, out.Route, dest), pending, nil); err != nil {
				return nil, err
			}
			// routed again (replay): an earlier dead letter is superseded
			if err := b.Delete(deadKey(dest, seq, out.Route), nil); err != nil {
				return nil, err
			}
		}
	}
	// Outbox sequence numbers must become visible in order (a destination
	// reads its outbox with a cursor), so they are taken and applied under
	// one lock.
	s.omu.Lock()
	defer s.omu.Unlock()
	for _, d := range ds {
		s.oseq++
		d.OSeq = s.oseq
		if err := b.Set(outboxKey(d.Dest, d.OSeq), d.encode(), nil); err != nil {
			return nil, err
		}
		if err := b.Set(keyIndex(d.Dest, d.Key, d.OSeq), nil, nil); err != nil {
			return nil, err
		}
	}
	e := enc{}
	e.uvarint(s.oseq)
	if err := b.Set(key(tMeta, "oseq"), e.b, nil); err != nil {
		return nil, err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return nil, fmt.Errorf("route %d: %w", seq, err)
	}
	return ds, nil
}

// Outbox returns up to max entries of dest's outbox after oseq after, in
// order, without their bodies (LoadBody reads one): a reader that passes
// over entries does not pay for their bodies.
func (s *DB) Outbox(dest string, after uint64, max int) ([]*Delivery, error) {
	prefix := key(tOutbox, dest, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: be64(bytes.Clone(prefix), after+1), UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dest, err)
	}
	defer it.Close()
	var out []*Delivery
	for ok := it.First(); ok && len(out) < max; ok = it.Next() {
		d, err := decodeDelivery(dest, beUint64(it.Key()[len(prefix):]), it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dest, err)
	}
	return out, nil
}

// OutboxDests lists the destinations that have deliveries waiting, in
// name order, so that a start can find those of a destination no longer
// configured. It seeks from one destination to the next: its cost is the
// number of destinations, not of entries.
func (s *DB) OutboxDests() ([]string, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tOutbox}, UpperBound: []byte{tOutbox + 1}})
	if err != nil {
		return nil, fmt.Errorf("outbox destinations: %w", err)
	}
	defer it.Close()
	var out []string
	for ok := it.First(); ok; {
		k := it.Key()[1:]
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			ok = it.Next()
			continue
		}
		dest := string(k[:i])
		out = append(out, dest)
		ok = it.SeekGE(prefixEnd(key(tOutbox, dest, "")))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("outbox destinations: %w", err)
	}
	return out, nil
}

// A body is stored with its content type in front, so that a dead letter
// can be requeued from the body alone.
func bodyValue(contentType string, body []byte) []byte {
	e := enc{b: make([]byte, 0, len(contentType)+len(body)+4)}
	e.str(contentType)
	e.b = append(e.b, body...)
	return e.b
}

// LoadBody reads d's body and content type.
func (s *DB) LoadBody(d *Delivery) error {
	v, closer, err := s.db.Get(bodyKey(d.Seq, d.Route))
	if err != nil {
		return fmt.Errorf("body of %d/%s: %w", d.Seq, d.Route, err)
	}
	defer closer.Close()
	dd := dec{b: v}
	d.ContentType = dd.str()
	if dd.err != nil {
		return fmt.Errorf("body of %d/%s: %w", d.Seq, d.Route, dd.err)
	}
	d.Body = bytes.Clone(dd.b)
	return nil
}

// Body returns the body route made of message seq and its content type.
func (s *DB) Body(seq uint64, route string) (contentType string, body []byte, err error) {
	d := &Delivery{Seq: seq, Route: route}
	err = s.LoadBody(d)
	return d.ContentType, d.Body, err
}

// Delivered removes d from its outbox and marks it delivered.
func (s *DB) Delivered(d *Delivery, at time.Time) error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(outboxKey(d.Dest, d.OSeq), nil)
	_ = b.Delete(keyIndex(d.Dest, d.Key, d.OSeq), nil)
	_ = b.Set(statusKey(d.Seq, d.Route, d.Dest), (&DeliveryStatus{State: Delivered, Attempts: d.Attempts, Updated: at}).encode(), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("mark %d delivered to %s: %w", d.Seq, d.Dest, err)
	}
	return nil
}

// Retrying records a failed attempt of d that will be retried.
func (s *DB) Retrying(d *Delivery, at time.Time, lastErr string, detail []byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(outboxKey(d.Dest, d.OSeq), d.encode(), nil)
	_ = b.Set(statusKey(d.Seq, d.Route, d.Dest), (&DeliveryStatus{State: Pending, Attempts: d.Attempts, Updated: at, LastError: lastErr, Detail: detail}).encode(), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("record attempt of %d to %s: %w", d.Seq, d.Dest, err)
	}
	return nil
}

// Dead removes d from its outbox and dead-letters it with the reason.
func (s *DB) Dead(d *Delivery, at time.Time, reason string, detail []byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(outboxKey(d.Dest, d.OSeq), nil)
	_ = b.Delete(keyIndex(d.Dest, d.Key, d.OSeq), nil)
	_ = b.Set(statusKey(d.Seq, d.Route, d.Dest), (&DeliveryStatus{State: Dead, Attempts: d.Attempts, Updated: at, LastError: reason, Detail: detail}).encode(), nil)
	_ = b.Set(deadKey(d.Dest, d.Seq, d.Route), nil, nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("dead-letter %d to %s: %w", d.Seq, d.Dest, err)
	}
	return nil
}

// DeadLetter is one dead-lettered delivery.
type DeadLetter struct {
	Dest  string
	Seq   uint64
	Route string
}

// DeadLetters calls fn for each dead letter of dest ("" for all), in
// message order per destination, until fn returns false.
func (s *DB) DeadLetters(dest string, fn func(DeadLetter) bool) error {
	prefix := []byte{tDead}
	if dest != "" {
		prefix = key(tDead, dest, "")
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[1:]
		i := bytes.IndexByte(k, 0)
		if i < 0 || len(k) < i+9 {
			return errCorrupt
		}
		dl := DeadLetter{Dest: string(k[:i]), Seq: beUint64(k[i+1:]), Route: string(k[i+9:])}
		if st, err := s.status(dl.Seq, dl.Route, dl.Dest); err != nil || st.State != Dead {
			continue // superseded by a replay
		}
		if !fn(dl) {
			break
		}
	}
	return it.Error()
}

// Requeue puts a delivery of message seq by route to dest back at the end
// of dest's outbox with its attempts reset, whatever its state (replay).
// The body is the one stored by Route; to convert again, use Reroute.
func (s *DB) Requeue(dest string, seq uint64, route string) (*Delivery, error) {
	o, err := s.Outcome(seq)
	if err != nil {
		return nil, err
	}
	// A replay counts its age from now, so that max_age does not kill it
	// at once.
	d := &Delivery{Dest: dest, Seq: seq, Route: route, Key: o.Key, Received: time.Now()}
	if err := s.LoadBody(d); err != nil {
		return nil, fmt.Errorf("requeue to %s: %w", dest, err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(deadKey(dest, seq, route), nil)
	_ = b.Set(statusKey(seq, route, dest), (&DeliveryStatus{State: Pending, Updated: time.Now()}).encode(), nil)
	s.omu.Lock()
	defer s.omu.Unlock()
	s.oseq++
	d.OSeq = s.oseq
	_ = b.Set(outboxKey(dest, d.OSeq), d.encode(), nil)
	_ = b.Set(keyIndex(dest, d.Key, d.OSeq), nil, nil)
	e := enc{}
	e.uvarint(s.oseq)
	_ = b.Set(key(tMeta, "oseq"), e.b, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("requeue %d/%s to %s: %w", seq, route, dest, err)
	}
	return d, nil
}

// Reroute puts message seq back on the pending list so that the pipeline
// routes and converts it again (replay after a rule was fixed). Its
// earlier deliveries keep their status.
// It reports whether the message was put back (false when it was already
// waiting to be routed).
func (s *DB) Reroute(seq uint64) (bool, error) {
	if _, err := s.Record(seq); err != nil {
		return false, err
	}
	if pending, err := s.IsPending(seq); err != nil || pending {
		return false, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(seqKey(tPending, seq), nil, nil)
	// the outcome it had leaves the browser's outcome index; routing
	// writes the new one
	if o, err := s.Outcome(seq); err == nil {
		if k := outcomeIndexKey(o.State, seq); k != nil {
			_ = b.Delete(k, nil)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return false, fmt.Errorf("reroute %d: %w", seq, err)
	}
	return true, nil
}

// IsPending reports whether message seq waits to be routed.
func (s *DB) IsPending(seq uint64) (bool, error) {
	_, closer, err := s.db.Get(seqKey(tPending, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pending %d: %w", seq, err)
	}
	closer.Close()
	return true, nil
}

// Outcome reads how message seq was routed.
func (s *DB) Outcome(seq uint64) (*Outcome, error) {
	v, closer, err := s.db.Get(seqKey(tOutcome, seq))
	if err != nil {
		return nil, fmt.Errorf("outcome of %d: %w", seq, err)
	}
	defer closer.Close()
	d := dec{b: v}
	d.uvarint()
	o := &Outcome{State: OutcomeState(d.uvarint()), Key: d.str()}
	o.At = time.Unix(0, int64(d.uvarint()))
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		o.Errors = append(o.Errors, d.str())
	}
	if d.err != nil {
		return nil, fmt.Errorf("outcome of %d: %w", seq, d.err)
	}
	return o, nil
}

// Statuses returns the delivery status of every (route, destination) of
// message seq.
func (s *DB) Statuses(seq uint64) ([]DeliveryStatus, error) {
	prefix := seqKey(tStatus, seq)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("statuses of %d: %w", seq, err)
	}
	defer it.Close()
	var out []DeliveryStatus
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[len(prefix):]
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			return nil, errCorrupt
		}
		st, err := decodeStatus(string(k[:i]), string(k[i+1:]), it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, it.Error()
}

// count returns the number of keys with prefix.
func (s *DB) count(prefix []byte) (int64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var n int64
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, it.Error()
}

// OutboxLen counts dest's outbox entries (at start, for the depth gauge).
func (s *DB) OutboxLen(dest string) (int64, error) {
	n, err := s.count(key(tOutbox, dest, ""))
	if err != nil {
		return 0, fmt.Errorf("count outbox %s: %w", dest, err)
	}
	return n, nil
}

// PendingLen counts the messages waiting to be routed.
func (s *DB) PendingLen() (int64, error) {
	n, err := s.count([]byte{tPending})
	if err != nil {
		return 0, fmt.Errorf("count pending: %w", err)
	}
	return n, nil
}

// OutboxOf returns up to max entries of dest's outbox for partition key
// from oseq from to oseq to (inclusive), in order, with their bodies: the
// entries of one key that a destination left in the store while that key
// was held up.
func (s *DB) OutboxOf(dest, k string, from, to uint64, max int) ([]*Delivery, error) {
	// Read through the per-key index: the range of the outbox itself
	// holds every other key's entries (and the tombstones of those
	// delivered since), which a patient held up for hours would have to
	// step over at every reload.
	prefix := key(tOutboxOf, dest, k, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: be64(bytes.Clone(prefix), from), UpperBound: be64(bytes.Clone(prefix), to+1)})
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dest, err)
	}
	defer it.Close()
	var out []*Delivery
	for ok := it.First(); ok && len(out) < max; ok = it.Next() {
		oseq := beUint64(it.Key()[len(prefix):])
		v, closer, err := s.db.Get(outboxKey(dest, oseq))
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("outbox %s: %w", dest, err)
		}
		d, err := decodeDelivery(dest, oseq, v)
		closer.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dest, err)
	}
	for _, d := range out {
		if err := s.LoadBody(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *DB) status(seq uint64, route, dest string) (DeliveryStatus, error) {
	v, closer, err := s.db.Get(statusKey(seq, route, dest))
	if err != nil {
		return DeliveryStatus{}, err
	}
	defer closer.Close()
	return decodeStatus(route, dest, v)
}

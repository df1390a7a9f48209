package transforms

import (
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/hl7/structure"
	"github.com/plexus-hl7/plexus/transforms/datatype"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// Header is the message header every expression sees as `msg`.
type Header struct {
	Type                 string `expr:"type"`
	Event                string `expr:"event"`
	Structure            string `expr:"structure"`
	Version              string `expr:"version"`
	ControlID            string `expr:"controlId"`
	ProcessingID         string `expr:"processingId"`
	SendingApplication   string `expr:"sendingApp"`
	SendingFacility      string `expr:"sendingFacility"`
	ReceivingApplication string `expr:"receivingApp"`
	ReceivingFacility    string `expr:"receivingFacility"`
	Timestamp            string `expr:"timestamp"`
}

// Field is an HL7 value as expressions see it: `PID[3]`, `v("PID-3[2].4")`
// or a segment (`PV1`). Converters and text() take it; `==` compares its
// text with a string.
type Field struct {
	v    hl7.Value
	path hl7.Path
	seg  int // index of the segment in the message; -1 when absent
	env  *Env
	gen  uint64 // the Env.gen it was resolved in
}

// Env is the environment of one conversion. Expressions reach the message
// only through the functions the compiler patches in, which read Env.
type Env struct {
	Msg Header `expr:"msg"`

	m      *hl7.Message
	rules  *Rules
	segPos [][]int // per segment ID the rules use: its indices in the message
	cur    int     // segment index of the foreach occurrence being converted; -1 outside
	// groups are the message's group instances when the rules name a
	// structure (empty otherwise); scope is the group instance being
	// converted (the innermost one of cur, or a `foreach: GROUP`'s), -1
	// for the message.
	groups structure.Groups
	scope  int
	slots  []Field // one per distinct compiled field path
	// gen changes whenever what a path means may change (another message,
	// segment or repetition): a slot resolved in this gen is still right.
	gen   uint64
	inst  [][]instance
	errs  []*ConvError
	warns []string
	vm    envVM
	ctx   datatype.Context

	// rep* select one repetition of one field while a block's foreach
	// over that field runs (repSID -1: none).
	repSID, repField, repIdx int

	atPos  Pos // the element being computed, for converter errors
	atElem string

	placed    []byte // the encoded entries of resources placed for references
	nplaced   int
	placedIDs map[[16]byte]string // their ids: their fullUrls

	// Kept from message to message by the pool, so that a conversion
	// allocates little beyond its Bundle: the arena the JSON values are
	// built in, the Bundle being encoded, the bytes a resource id is hashed
	// from, scratch lists.
	arena   fhirjson.Arena
	out     []byte
	hash    []byte
	ids     []byte // the ids of this conversion's resources (newID)
	rest    []byte
	textBuf []byte
	xs      []xval
	xsInts  []int // group instances of a foreach: GROUP rule

	memo     [8]convMemo // the last converter results (convertField)
	memoNext int
	vals     []fhirjson.Value
}

// instance is one resource a rule produces for a message.
type instance struct {
	seg    int    // the foreach segment's index (a group's first); -1 for rules without foreach
	group  int    // the group instance of a `foreach: GROUP` rule; -1 otherwise
	urn    string // urn:uuid:<id>, its fullUrl
	id     string // urn's last 36 bytes
	put    string // <type>/<id>, its request's URL (transaction and batch)
	ref    fhirjson.Value
	keySys string
	keyVal string
	keyed  bool
	failed bool
}

// segment finds the occurrence of segment id number sid that path p means in
// the current context: an explicit occurrence; else the foreach segment
// itself; else, inside a foreach, the nearest occurrence before it (the OBR
// of an OBX's order group); else the first. With a structure, inside a
// foreach the search is confined to the group of the current scope (or of
// the scopes around it) where the structure puts that segment, and finds
// nothing when that group instance has none: the ORC of an order group
// without one is absent, not an earlier group's.
func (e *Env) segment(sid int, occ int) int {
	pos := e.segPos[sid]
	if len(pos) == 0 {
		return -1
	}
	if occ > 0 {
		if occ <= len(pos) {
			return pos[occ-1]
		}
		return -1
	}
	g, grouped := e.groupOf(sid)
	best, first := -1, -1
	for _, p := range pos {
		if p == e.cur {
			return p // the foreach segment itself, wherever the structure put it
		}
		if grouped && p >= g.hi {
			break
		}
		if grouped && !g.in(e, p) {
			continue
		}
		if first < 0 {
			first = p
		}
		if e.cur < 0 || p > e.cur {
			break
		}
		best = p
	}
	if best < 0 {
		return first
	}
	return best
}

// segGroup is where a segment is read: the segments [lo, hi) of a group
// instance (the message: 0, max) that the structure matched to one of
// slots.
type segGroup struct {
	lo, hi int
	slots  []bool
}

// in reports whether segment index p is one of g's.
func (g *segGroup) in(e *Env, p int) bool {
	s := e.groups.Slot[p]
	return p >= g.lo && p < g.hi && s != nil && g.slots[s.ID]
}

// groupOf finds where segment sid is read in the current scope, by the
// structure (Rules.near): the occurrences matched to the segment nodes
// nearest to the scope's group, within the instance of the group they
// share with it. ok is false when the structure has no such segment (or
// there is none): then it is read message-wide.
func (e *Env) groupOf(sid int) (segGroup, bool) {
	if e.rules.structure == nil || len(e.groups.Slot) == 0 {
		return segGroup{}, false
	}
	node := 0
	if e.scope >= 0 {
		node = e.groups.Instances[e.scope].Node.ID
	}
	ns := e.rules.near[node][sid]
	if ns == nil {
		return segGroup{}, false
	}
	in := e.scope
	for i := 0; i < ns.up && in >= 0; i++ {
		in = e.groups.Instances[in].Parent
	}
	g := segGroup{lo: 0, hi: int(^uint(0) >> 1), slots: ns.slots}
	if in >= 0 {
		g.lo, g.hi = e.groups.Instances[in].Start, e.groups.Instances[in].End
	}
	return g, true
}

// before reports whether an occurrence of segment id number sid stands
// before the current segment (false outside a foreach): before("PV1") in
// a resource made per ROL tells a ROL after PID from one after PV1.
func (e *Env) before(sid int) bool {
	pos := e.segPos[sid]
	return e.cur >= 0 && len(pos) > 0 && pos[0] < e.cur
}

// within reports whether the current scope is inside an instance of one
// of the groups of within() call number i.
func (e *Env) within(i int) bool {
	set := e.rules.groupSets[i]
	for in := e.scope; in >= 0; in = e.groups.Instances[in].Parent {
		if set[e.groups.Instances[in].Node.ID] {
			return true
		}
	}
	return false
}

// at makes segment index seg the current context (-1: none), in its
// innermost group.
func (e *Env) at(seg int) {
	scope := -1
	if seg >= 0 && len(e.groups.Of) > seg {
		scope = e.groups.Of[seg]
	}
	e.moveTo(seg, scope)
}

// atGroup makes group instance in the current context: its first segment,
// in it.
func (e *Env) atGroup(in int) { e.moveTo(e.groups.Instances[in].Start, in) }

func (e *Env) moveTo(seg, scope int) {
	if e.cur != seg || e.scope != scope {
		e.cur, e.scope = seg, scope
		e.gen++
	}
}

// atRep selects repetition idx of field of segment id number sid while a
// block's foreach over that field runs (sid -1: none).
func (e *Env) atRep(sid, field, idx int) {
	if e.repSID != sid || e.repField != field || e.repIdx != idx {
		e.repSID, e.repField, e.repIdx = sid, field, idx
		e.gen++
	}
}

// field resolves compiled path number i into its slot, unless the slot
// already holds it for the current context.
func (e *Env) field(i int) *Field {
	cp := &e.rules.paths[i]
	f := &e.slots[cp.slot]
	if f.gen == e.gen {
		return f
	}
	f.gen = e.gen
	f.path = cp.path
	f.env = e
	f.seg = e.segment(cp.sid, cp.path.Occ)
	if f.seg < 0 {
		f.v = hl7.Value{}
		return f
	}
	p := cp.path
	if e.repSID >= 0 && cp.sid == e.repSID && p.Field == e.repField && p.Rep == 0 {
		p.Rep = e.repIdx // the repetition a foreach over this field is at
		f.path.Rep = e.repIdx
	}
	f.v = e.m.Segment(f.seg).Get(p)
	return f
}

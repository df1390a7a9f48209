package fhirjson

// Arena hands out the member and element lists of Values from large chunks
// that are reused after Reset, so that building a Bundle costs a few pointer
// bumps per object instead of an allocation each (and no garbage). The
// owner of an Arena promises that no Value built in it is used after its
// Reset: a converter's results live until its Bundle is encoded, never in
// a cache that outlives the conversion.
//
// The methods of a nil *Arena allocate on the heap, like the package's
// functions (Obj, Arr, With, Append): code that may run with or without an
// arena calls them on whatever arena it was given. An Arena is not safe for
// concurrent use.
type Arena struct {
	mem chunks[Member]
	val chunks[Value]
}

// chunks hands out slices of T from large chunks, reused in order after
// reset.
type chunks[T any] struct {
	free []T   // the free part of the current chunk
	all  [][]T // every chunk
	i    int   // the chunk free is in
}

const (
	chunkMembers = 1024
	chunkValues  = 512
	// keepBytes bounds what an arena keeps (of each kind of list) for the
	// next message after a very large one; an ADT needs some 100 KB.
	keepBytes = 1 << 20
)

// Reset makes all the arena's memory free again. The memory is not
// cleared: until it is written over, it keeps alive what the last values
// pointed to (at most one message's strings).
func (a *Arena) Reset() {
	a.mem.reset(40)
	a.val.reset(24)
}

func (c *chunks[T]) reset(size int) {
	c.all = keep(c.all, size)
	c.i, c.free = 0, nil
	if len(c.all) > 0 {
		c.free = c.all[0]
	}
}

// keep drops the chunks beyond keepBytes (of size bytes per element).
func keep[T any](chunks [][]T, size int) [][]T {
	total := 0
	for i, c := range chunks {
		total += cap(c) * size
		if total > keepBytes {
			clear(chunks[i:])
			return chunks[:i]
		}
	}
	return chunks
}

// members returns a list of n members with capacity n (an append to it
// reallocates rather than writing over the next list).
func (a *Arena) members(n int) []Member {
	if a == nil {
		return make([]Member, n)
	}
	return a.mem.take(n, chunkMembers)
}

// values is members for element lists.
func (a *Arena) values(n int) []Value {
	if a == nil {
		return make([]Value, n)
	}
	return a.val.take(n, chunkValues)
}

// take returns n elements with capacity n, from a new chunk of at least
// size when the current one has too few left.
func (c *chunks[T]) take(n, size int) []T {
	if len(c.free) < n {
		c.next(n, size)
	}
	s := c.free[:n:n]
	c.free = c.free[n:]
	return s
}

func (c *chunks[T]) next(n, size int) {
	for c.i+1 < len(c.all) {
		c.i++
		if ch := c.all[c.i]; cap(ch) >= n {
			c.free = ch[:cap(ch)]
			return
		}
	}
	ch := make([]T, max(n, size))
	c.all = append(c.all, ch)
	c.i = len(c.all) - 1
	c.free = ch
}

// Obj is Obj in the arena.
func (a *Arena) Obj(members ...Member) Value {
	n := 0
	for _, m := range members {
		if !m.Value.IsNull() {
			n++
		}
	}
	if n == 0 {
		return Value{}
	}
	out := a.members(n)
	i := 0
	for _, m := range members {
		if !m.Value.IsNull() {
			out[i] = m
			i++
		}
	}
	return object(out)
}

// Arr is Arr in the arena.
func (a *Arena) Arr(values ...Value) Value {
	n := 0
	for _, v := range values {
		if !v.IsNull() {
			n++
		}
	}
	if n == 0 {
		return Value{}
	}
	out := a.values(n)
	i := 0
	for _, v := range values {
		if !v.IsNull() {
			out[i] = v
			i++
		}
	}
	return array(out)
}

// With is v.With(key, val) in the arena.
func (a *Arena) With(v Value, key string, val Value) Value {
	old := v.Members()
	k := 0 // every member named key is replaced (or removed)
	for _, m := range old {
		if m.Key == key {
			k++
		}
	}
	n := len(old) - k
	if !val.IsNull() {
		n += max(k, 1)
	}
	if n == 0 {
		return Value{}
	}
	if k == 0 && val.IsNull() {
		return object(old) // nothing to remove
	}
	out := a.members(n)
	i := 0
	for _, m := range old {
		if m.Key == key {
			if !val.IsNull() {
				out[i] = Member{Key: key, Value: val}
				i++
			}
			continue
		}
		out[i] = m
		i++
	}
	if k == 0 {
		out[i] = Member{Key: key, Value: val}
	}
	return object(out)
}

// Append is v.Append(vals...) in the arena.
func (a *Arena) Append(v Value, vals ...Value) Value {
	n := v.Len()
	for _, x := range vals {
		if !x.IsNull() {
			n++
		}
	}
	if n == 0 {
		return Value{}
	}
	out := a.values(n)
	i := 0
	for j := range v.Len() {
		out[i] = v.Elem(j)
		i++
	}
	for _, x := range vals {
		if !x.IsNull() {
			out[i] = x
			i++
		}
	}
	return array(out)
}

// Builder is a Builder whose member list starts with room for n members in
// the arena and grows there.
func (a *Arena) Builder(n int) Builder {
	return Builder{m: a.members(n)[:0], a: a}
}

package fhirjson

import (
	"fmt"
	"testing"
)

// withBefore is Value.With as it was before arenas: the reference.
func withBefore(v Value, key string, val Value) Value {
	obj := make([]Member, 0, len(v.Members())+1)
	found := false
	for _, m := range v.Members() {
		if m.Key == key {
			found = true
			if !val.IsNull() {
				obj = append(obj, Member{Key: key, Value: val})
			}
			continue
		}
		obj = append(obj, m)
	}
	if !found && !val.IsNull() {
		obj = append(obj, Member{Key: key, Value: val})
	}
	if len(obj) == 0 {
		return Value{}
	}
	return object(obj)
}

func TestArenaWith(t *testing.T) {
	var a Arena
	dup := object([]Member{M("a", Str("1")), M("b", Str("2")), M("a", Str("3"))})
	receivers := []Value{{}, Str("text"), Obj(M("a", Str("1"))), Obj(M("a", Str("1")), M("b", Str("2"))), dup}
	for _, arena := range []*Arena{nil, &a} {
		for _, v := range receivers {
			for _, key := range []string{"a", "b", "c"} {
				for _, val := range []Value{{}, Str("x"), Arr(Str("y"), Str("z"))} {
					got, want := arena.With(v, key, val), withBefore(v, key, val)
					if g, w := string(got.AppendJSON(nil)), string(want.AppendJSON(nil)); g != w || got.Kind() != want.Kind() {
						t.Errorf("With(%s, %q, %s) in %v: %s, want %s", v.AppendJSON(nil), key, val.AppendJSON(nil), arena != nil, g, w)
					}
				}
			}
		}
	}
	if got := string(dup.AppendJSON(nil)); got != `{"a":"1","b":"2","a":"3"}` {
		t.Errorf("receiver modified: %s", got)
	}
}

func TestArenaAppendAndBuilder(t *testing.T) {
	var a Arena
	arr := a.Append(Str("one"), Str("two"), Value{}, Str("three"))
	arr = a.Append(arr, Value{})
	if got := string(arr.AppendJSON(nil)); got != `["one","two","three"]` {
		t.Errorf("Append: %s", got)
	}
	if !a.Append(Value{}).IsNull() {
		t.Error("Append of nothing to Null is not Null")
	}
	b := a.Builder(1)
	for i := range 20 {
		b.Set(fmt.Sprint("k", i%15), Int(int64(i)))
	}
	b.Set("k3", Value{})
	want := `{"k0":15,"k1":16,"k2":17,"k4":19,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14}`
	if got := string(b.Value().AppendJSON(nil)); got != want {
		t.Errorf("Builder: %s\nwant     %s", got, want)
	}
	// an append to a list handed out must not write into the next one
	x := a.Arr(Str("x"))
	y := a.Arr(Str("y"))
	_ = append(x.Elems(), Str("over"))
	if got := string(y.AppendJSON(nil)); got != `["y"]` {
		t.Errorf("next list overwritten: %s", got)
	}
}

func TestArenaReuse(t *testing.T) {
	var a Arena
	items := make([]Value, 0, 3000)
	build := func(n int) string {
		items = items[:0]
		for i := range n {
			items = append(items, a.Obj(M("i", Int(int64(i))), M("s", Str("v"))))
		}
		return string(a.Arr(items...).AppendJSON(nil))
	}
	first := build(3000) // several chunks
	chunks := len(a.mem.all)
	a.Reset()
	if second := build(3000); second != first {
		t.Error("the same values built again after Reset differ")
	}
	if len(a.mem.all) != chunks {
		t.Errorf("%d member chunks after Reset and the same work, %d before: not reused", len(a.mem.all), chunks)
	}
	build100 := func() {
		a.Reset()
		items = items[:0]
		for range 100 {
			items = append(items, a.Obj(M("i", Int(7)), M("s", Str("v"))))
		}
		a.Arr(items...)
	}
	if allocs := testing.AllocsPerRun(10, build100); allocs != 0 {
		t.Errorf("%v allocations building in a reused arena", allocs)
	}
}

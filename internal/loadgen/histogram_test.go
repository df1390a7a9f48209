package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	check := func(v int64) {
		t.Helper()
		i := bucketOf(v)
		lo, hi := bucketBounds(i)
		if v < lo || v >= hi {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
		if lo >= 2*subCount && float64(hi-lo)/float64(lo) > 1.0/subCount {
			t.Fatalf("bucket %d = [%d, %d) is wider than 1/%d of its value", i, lo, hi, subCount)
		}
	}
	for v := range int64(5000) {
		check(v)
	}
	for shift := range 40 {
		for _, d := range []int64{-1, 0, 1} {
			if v := int64(1)<<shift + d; v >= 0 {
				check(v)
			}
		}
	}
	check(maxValue)
	if i := bucketOf(math.MaxInt64); i != histBuckets-1 {
		t.Errorf("huge value in bucket %d, want the last (%d)", i, histBuckets-1)
	}
	if i := bucketOf(-5); i != 0 {
		t.Errorf("negative value in bucket %d", i)
	}
}

func TestQuantilesCloseToExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h, a, b histogram
	exact := make([]int64, 0, 100_000)
	for i := range 100_000 {
		// Log-normal around 100 µs with a long tail, as ACK latencies are.
		v := int64(math.Exp(rng.NormFloat64()*1.5+math.Log(100e3))) + 1
		exact = append(exact, v)
		h.record(time.Duration(v))
		if i%3 == 0 {
			a.record(time.Duration(v))
		} else {
			b.record(time.Duration(v))
		}
	}
	a.merge(&b)
	if a != h {
		t.Error("merging two halves differs from recording everything in one")
	}
	slices.Sort(exact)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(math.Ceil(q*float64(len(exact)))), 1)
		want := exact[rank-1]
		got := int64(h.quantile(q))
		if got < want || float64(got-want) > float64(want)/subCount {
			t.Errorf("q%v = %d, exact %d", q, got, want)
		}
	}
	s := h.summary()
	if s.Count != 100_000 || int64(s.Min) != exact[0] || int64(s.Max) != exact[len(exact)-1] {
		t.Errorf("summary %+v", s)
	}
	var empty histogram
	if empty.summary() != (Latency{}) {
		t.Error("empty histogram has a summary")
	}
}

package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, as HdrHistogram is: values below 2^(subBits+1)
// ns get a bucket each, and every power of two above that is cut into
// 2^subBits equal buckets. With subBits = 7 a bucket is at most 1/128 of its
// value wide, so a percentile read from it is within 0.8% of the exact one,
// whatever the run's length: memory is fixed (histBuckets counters), where
// keeping every sample would grow by 8 bytes a message.
const (
	subBits     = 7
	subCount    = 1 << subBits
	maxShift    = 40 - subBits - 1 // values are clamped below 2^40 ns (18 min)
	maxValue    = int64(1)<<40 - 1
	histBuckets = (maxShift+1)*subCount + subCount
)

// histogram counts durations in nanoseconds. It is not safe for concurrent
// use: each connection keeps its own and Run merges them at the end.
type histogram struct {
	counts   [histBuckets]int64
	n        int64
	sum      int64
	min, max int64
}

func bucketOf(v int64) int {
	v = min(max(v, 0), maxValue)
	shift := max(bits.Len64(uint64(v))-subBits-1, 0)
	return shift*subCount + int(v>>shift)
}

// bucketBounds returns the smallest value of bucket i and the smallest of
// the next one.
func bucketBounds(i int) (lo, hi int64) {
	if i < 2*subCount {
		return int64(i), int64(i) + 1
	}
	shift := i/subCount - 1
	mant := int64(i - shift*subCount)
	return mant << shift, (mant + 1) << shift
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile returns the value below which a fraction q of the samples fall:
// the top of the bucket holding the sample of that rank (never above the
// largest sample seen), as HdrHistogram reports it.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	// The small offset keeps q*n = 99.00000000000001 (0.99 is not exact in
	// binary) from moving the rank one sample up.
	rank := int64(math.Ceil(q*float64(h.n) - 1e-9))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			return time.Duration(min(max(hi-1, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.n,
		Min:   time.Duration(h.min),
		Mean:  time.Duration(h.sum / h.n),
		P50:   h.quantile(0.50),
		P90:   h.quantile(0.90),
		P99:   h.quantile(0.99),
		P999:  h.quantile(0.999),
		Max:   time.Duration(h.max),
	}
}

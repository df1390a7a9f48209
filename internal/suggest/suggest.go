// Package suggest measures how far a misspelt name is from the names it
// could have meant, for "did you mean …?" in load errors.
package suggest

// Distance is the Levenshtein edit distance of a and b, or max+1 as soon as
// it is known to be larger than max.
func Distance(a, b string, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns the word of known nearest to s, if it is near enough to
// be a typo (at most a third of s's length in edits, and at least 1), or "".
func Closest(s string, known []string) string {
	max := len(s)/3 + 1
	best, bestD := "", max+1
	for _, k := range known {
		if d := Distance(s, k, max); d <= max && d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

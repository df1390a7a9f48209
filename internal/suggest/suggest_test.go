package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b      string
		max, want int
	}{
		{"birthdate", "birthDate", 2, 1},
		{"gendr", "gender", 2, 1},
		{"dtx", "dt", 2, 1},
		{"kitten", "sitting", 5, 3},
		{"kitten", "sitting", 2, 3},
		{"", "abc", 5, 3},
		{"same", "same", 0, 0},
		{"abcdef", "a", 2, 3},
	} {
		if got := Distance(c.a, c.b, c.max); got != c.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", c.a, c.b, c.max, got, c.want)
		}
	}
}

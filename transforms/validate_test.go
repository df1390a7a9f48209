package transforms

import (
	"math/rand/v2"
	"testing"

	"github.com/plexus-hl7/plexus/transforms/fhir"
)

// TestPlainDateTime checks the fast path of validatePrimitive against the
// FHIR regexps: whatever plainDateTime accepts, fhir.ValidatePrimitive
// must accept too (what it refuses, the regexp decides).
func TestPlainDateTime(t *testing.T) {
	seeds := []string{
		"2015", "2015-06", "2015-06-01", "2015-06-01T13:58:23+01:00", "2015-06-01T13:58:23Z",
		"2015-06-01T13:58:23.123-05:00", "2000-02-29", "1900-02-29", "2024-02-29T00:00:00+14:00",
		"2015-06-01T23:59:60-13:59", "0001-01-01", "0000", "2015-13-01", "2015-04-31", "2015-06-01T24:00:00Z",
		"2015-06-01T13:58Z", "2015-06-01T13:58:23", "2015-06-01T13:58:23+14:01", "2015-06-01T13:58:23.Z",
	}
	accepted := 0
	check := func(s string) {
		for _, typ := range []string{"date", "dateTime", "instant"} {
			if plainDateTime(typ, s) {
				accepted++
				if err := fhir.ValidatePrimitive(typ, s); err != nil {
					t.Errorf("plainDateTime(%s, %q) is true, but %v", typ, s, err)
				}
			}
		}
	}
	for _, s := range seeds {
		check(s)
	}
	const alphabet = "0123456789-:TZ+.x "
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		b := []byte(seeds[rng.IntN(len(seeds))])
		for range 1 + rng.IntN(3) {
			switch i := rng.IntN(len(b) + 1); rng.IntN(3) {
			case 0:
				if i < len(b) {
					b[i] = alphabet[rng.IntN(len(alphabet))]
				}
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			default:
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			}
		}
		check(string(b))
	}
	if accepted < 1000 {
		t.Errorf("only %d accepted: the test does not test much", accepted)
	}
}

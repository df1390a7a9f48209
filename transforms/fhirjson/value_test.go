package fhirjson

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEmptyValuesVanish(t *testing.T) {
	v := Obj(
		M("resourceType", Str("Patient")),
		M("id", Str("")),
		M("name", Arr(Obj(M("family", Str(""))), Obj(M("given", Arr(Str("Eve"), Str("")))))),
		M("address", Arr()),
		M("active", Bool(false)),
		M("multipleBirthInteger", Int(2)),
		M("x", Num("1.50")),
		M("bad", Num("1.")),
	)
	got := string(v.AppendJSON(nil))
	want := `{"resourceType":"Patient","name":[{"given":["Eve"]}],"active":false,"multipleBirthInteger":2,"x":1.50}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !Obj(M("a", Str(""))).IsNull() || !Arr(Value{}).IsNull() {
		t.Error("empty object or array is not Null")
	}
}

func TestStringsEscaped(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          `"plain"`,
		"quote\" back\\": `"quote\" back\\"`,
		"line\nfeed\tx":  `"line\nfeed\tx"`,
		"\x01":           `"\u0001"`,
		"é€":             `"é€"`,
		"bad\xffutf":     `"bad` + "\ufffd" + `utf"`,
		"ls\u2028":       `"ls\u2028"`,
	} {
		got := string(AppendString(nil, in))
		if got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%q: not valid JSON: %v", in, err)
		}
	}
}

func TestWithAndAppend(t *testing.T) {
	base := Obj(M("a", Str("1")), M("b", Str("2")))
	changed := base.With("a", Str("x")).With("c", Str("3")).With("b", Value{})
	if got := string(changed.AppendJSON(nil)); got != `{"a":"x","c":"3"}` {
		t.Errorf("With: %s", got)
	}
	if got := string(base.AppendJSON(nil)); got != `{"a":"1","b":"2"}` {
		t.Errorf("base modified: %s", got)
	}
	arr := Str("one").Append(Str("two"), Value{})
	if got := string(arr.AppendJSON(nil)); got != `["one","two"]` {
		t.Errorf("Append: %s", got)
	}
	if base.Get("b").Text() != "2" || !base.Get("z").IsNull() {
		t.Error("Get")
	}
}

func TestIsNumber(t *testing.T) {
	for s, ok := range map[string]bool{"0": true, "-1.5": true, "1e10": true, "1.50": true, "01": false, "1.": false, ".5": false, "": false, "-": false, "1e": false, "+1": false, "NaN": false} {
		if IsNumber(s) != ok {
			t.Errorf("%q: %v", s, !ok)
		}
	}
}

// TestAppendStringWords checks the eight-bytes-at-a-time scan against the
// byte-by-byte one it replaced: every special byte at every position of
// texts around the word size, and random texts.
func TestAppendStringWords(t *testing.T) {
	specials := []string{"\"", "\\", "\n", "\t", "\x00", "\x01", "\x1f", " ", "!", "#", "[", "]", "~", "\x7f", "é", "€", "\u2028", "\u2029", "\xff", "\xc3"}
	check := func(s string) {
		t.Helper()
		if got, want := string(AppendString(nil, s)), string(appendStringBytewise(nil, s)); got != want {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	}
	for n := 0; n < 20; n++ {
		for pos := 0; pos <= n; pos++ {
			for _, sp := range specials {
				check(strings.Repeat("a", pos) + sp + strings.Repeat("b", n-pos))
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		check(string(b))
	}
}

// appendStringBytewise is AppendString as it was before the word-at-a-time
// scan: the reference.
func appendStringBytewise(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func BenchmarkAppendString(b *testing.B) {
	for _, s := range []string{"system", "http://terminology.hl7.org/CodeSystem/v2-0203"} {
		b.Run(strconv.Itoa(len(s)), func(b *testing.B) {
			buf := make([]byte, 0, 128)
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				buf = AppendString(buf[:0], s)
			}
		})
	}
}

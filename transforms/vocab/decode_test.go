package vocab

import (
	"strings"
	"testing"
)

const testMagic = "PXVOCAB2\n"

// decodeAll decodes the data and the rows of every map, as using every map
// would, returning the first error instead of panicking.
func decodeAll(data string) (*store, error) {
	d, err := decode(data)
	if err != nil {
		return nil, err
	}
	for _, m := range d.maps {
		if err := m.decodeRows(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// TestDecodeBroken: every truncation and a few corruptions of the embedded
// data are reported as errors, never as a panic or a half-built store.
func TestDecodeBroken(t *testing.T) {
	if !strings.HasPrefix(vocabData, testMagic+"\x0b") {
		t.Fatal("the data does not start with the magic and 11 fields")
	}
	if _, err := decodeAll(vocabData); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	try := func(what, data string) {
		t.Helper()
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("%s: panic %v", what, p)
			}
		}()
		if _, err := decodeAll(data); err == nil {
			t.Errorf("%s: no error", what)
		}
	}
	for n := 0; n < len(vocabData); n += 1 + n/8 {
		try("truncated", vocabData[:n])
	}
	try("trailing byte", vocabData+"x")
	try("bad magic", "PXVOCAB0"+vocabData[8:])
	try("huge count", testMagic+"\x0b\xff\xff\xff\xff\x0f")
	try("wrong field count", testMagic+"\x0c"+vocabData[len(testMagic)+1:])
}

// BenchmarkDecode is the cost of the first use of the package: the string
// table, the inventory and the map headers.
func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(vocabData); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMap is the cost of the first use of one map
// (AdministrativeSex, 6 rows): its rows and indexes.
func BenchmarkDecodeMap(b *testing.B) {
	d, err := decode(vocabData)
	if err != nil {
		b.Fatal(err)
	}
	m := d.byKey["administrativesex"]
	b.ReportAllocs()
	for b.Loop() {
		if err := m.decodeRows(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeAll is the cost of using every map (a coverage report).
func BenchmarkDecodeAll(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(vocabData)))
	for b.Loop() {
		if _, err := decodeAll(vocabData); err != nil {
			b.Fatal(err)
		}
	}
}

package loadgen

import (
	"bytes"
	_ "embed"
)

// sample is the ADT^A01 of the HL7 v2-to-FHIR Implementation Guide's "test
// conversions" page, byte for byte (3.4 KB, CR terminators): the message the
// parser and transform benchmarks use, so that figures can be compared. It is
// a copy of transforms/maps/testdata/test-conversion-ADT_A01.hl7, from
// github.com/HL7/v2-to-fhir, input/pagecontent/test_conversions.md at commit
// 8c9b414be1729c98988b17e7fa86221fc8018c73 (CC0-1.0); see
// transforms/maps/testdata/SOURCES.md. It asks for enhanced acknowledgement
// (MSH-15 AL), so a receiver may answer CA as well as AA.
//
//go:embed sample.hl7
var sample []byte

// Sample returns a copy of the built-in sample message.
func Sample() []byte { return bytes.Clone(sample) }

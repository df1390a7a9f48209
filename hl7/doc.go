// Package hl7 is the HL7 version 2 message model of Plexus: parsing (2.1–2.8,
// any delimiters, CR/LF/CRLF terminators, MSH-18 character sets, batches),
// access by path in HL7's own notation (PID-3[2].4.1), escapes, encoding, and
// building ACK/NAK replies.
//
// Parsing is a single pass that records where each segment and field starts;
// nothing is copied or allocated per field. Repetitions, components and
// subcomponents are found on access by scanning the (short) field they live
// in, and text is unescaped only when a value is read as text. A parsed
// Message keeps referring to the bytes it was parsed from, so those bytes must
// not change while the Message is in use.
//
// The package depends on the standard library and golang.org/x/text only.
package hl7

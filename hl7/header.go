package hl7

import (
	"errors"
)

// Header is what the MSH segment says about a message: enough to journal,
// acknowledge and route it without reading further.
type Header struct {
	SendingApplication   string // MSH-3 (all components, as text)
	SendingFacility      string // MSH-4
	ReceivingApplication string // MSH-5
	ReceivingFacility    string // MSH-6
	DateTime             string // MSH-7 as sent
	Type                 string // MSH-9.1, e.g. ADT
	Event                string // MSH-9.2, e.g. A01
	Structure            string // MSH-9.3 as sent, e.g. ADT_A01; empty when absent
	ControlID            string // MSH-10
	ProcessingID         string // MSH-11.1 (P, T, D)
	Version              string // MSH-12.1, e.g. 2.5.1
	AcceptAckType        string // MSH-15 (AL, NE, ER, SU): enhanced mode when set
	ApplicationAckType   string // MSH-16
	Charset              string // MSH-18, first repetition
}

// Header reads the message's MSH.
func (m *Message) Header() Header {
	msh, ok := m.Find("MSH", 1)
	if !ok {
		return Header{}
	}
	text := func(n int) string { return msh.Field(n).String() }
	typ := msh.Field(9)
	return Header{
		SendingApplication:   text(3),
		SendingFacility:      text(4),
		ReceivingApplication: text(5),
		ReceivingFacility:    text(6),
		DateTime:             text(7),
		Type:                 typ.Component(1).String(),
		Event:                typ.Component(2).String(),
		Structure:            typ.Component(3).String(),
		ControlID:            text(10),
		ProcessingID:         msh.Field(11).Component(1).String(),
		Version:              msh.Field(12).Component(1).String(),
		AcceptAckType:        text(15),
		ApplicationAckType:   text(16),
		Charset:              m.charset,
	}
}

// Enhanced reports whether the sender asked for enhanced acknowledgement
// (MSH-15 or MSH-16 valued), which answers with CA/CE/CR instead of AA/AE/AR.
func (h Header) Enhanced() bool { return h.AcceptAckType != "" || h.ApplicationAckType != "" }

// ParseHeader reads the MSH of data: the cheap first look that ingest takes
// before the message is journaled. It checks the header as CheckHeader
// does, and the whole message's bytes against its character set (so that a
// message acknowledged now does not fail to decode later); the segments
// after MSH are not read.
func ParseHeader(data []byte) (Header, error) { return ParseHeaderWith(data, ParseOptions{}) }

// ParseHeaderWith is ParseHeader with options (a fallback character set).
func ParseHeaderWith(data []byte, o ParseOptions) (Header, error) {
	var m Message
	if err := m.parse(data, o, true); err != nil {
		return Header{}, err
	}
	return m.Header(), m.CheckHeader()
}

// CheckHeader reports what makes the message impossible to acknowledge or
// route: a missing MSH-9 (message type) or MSH-10 (control ID). A missing
// MSH-11 or MSH-12 is only a warning: the ACK can still be built and many
// old senders omit them. All problems come back at once (errors.Join of
// *Error); Errors() lists them.
func (m *Message) CheckHeader() error {
	msh, ok := m.Find("MSH", 1)
	if !ok {
		return &Error{Offset: -1, Code: CodeSegmentSequence, Severity: SeverityError, Msg: "no MSH segment"}
	}
	var errs []error
	missing := func(field int, what string) {
		errs = append(errs, &Error{Segment: "MSH", Seq: msh.Index() + 1, Field: field, Offset: -1,
			Code: CodeRequiredFieldMissing, Severity: SeverityError, Msg: "required field missing: " + what})
	}
	if !msh.Field(9).Component(1).HasValue() {
		missing(9, "MSH-9 message type")
	}
	if !msh.Field(10).HasValue() {
		missing(10, "MSH-10 message control ID")
	}
	return errors.Join(errs...)
}

// warnHeader notes, at parse time, the header fields an old sender may
// omit that an ACK can do without.
func (m *Message) warnHeader() {
	if len(m.segs) == 0 {
		return
	}
	msh := Segment{m: m, i: 0}
	if !msh.Field(11).HasValue() {
		m.warn(1, "MSH-11 processing ID is missing")
	}
	if !msh.Field(12).HasValue() {
		m.warn(1, "MSH-12 version ID is missing")
	}
}

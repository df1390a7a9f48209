package file

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// NameData is what the name template sees. Every string is sanitised (see
// Sanitise): control ids, keys and the like come from the sender's MSH and
// must not be able to name a path outside dir.
type NameData struct {
	Seq            uint64    // journal sequence number: unique, the same on every retry
	ControlID      string    // MSH-10
	MessageType    string    // MSH-9 as ADT^A01
	Route          string    // the route's name
	Source         string    // the listener's name
	Key            string    // the partition key (by default the patient)
	IdempotencyKey string    // sending application, facility and MSH-10
	Time           time.Time // when the message was received (journaled), UTC: the same on every retry
}

// Default names, before the extension is added.
const (
	DefaultName       = "{{.Seq}}-{{.ControlID}}"
	DefaultNDJSONName = `{{.Time.Format "2006-01-02"}}`
)

// maxValue bounds one sanitised value, so that a long key or control id
// cannot push a name past the 255 bytes a file system allows per component.
const maxValue = 64

// maxComponent is NAME_MAX on the common file systems.
const maxComponent = 255

// Sanitise makes s safe as (part of) one path component: ASCII letters,
// digits and . - _ ^ + = @ are kept, every other character (/ \ NUL, space,
// control characters, anything non-ASCII) becomes _, a leading dot becomes _
// (no hidden files, no . or ..), and the result is cut to 64 bytes.
// Different values can therefore map to one name: keep .Seq in the name.
func Sanitise(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), maxValue))
	for _, r := range s {
		if b.Len() >= maxValue {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '_', r == '^', r == '+', r == '=', r == '@':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func nameData(m *channels.Message, now time.Time) NameData {
	return NameData{
		Seq:            m.Seq,
		ControlID:      Sanitise(m.ControlID),
		MessageType:    Sanitise(m.MessageType),
		Route:          Sanitise(m.Route),
		Source:         Sanitise(m.Source),
		Key:            Sanitise(m.Key),
		IdempotencyKey: Sanitise(m.IdempotencyKey),
		Time:           received(m, now).UTC(),
	}
}

// namer renders file names from the compiled template.
type namer struct {
	tmpl *template.Template
	// hasExt: the template's text ends in a literal extension, which then
	// replaces the one that follows the content type.
	hasExt bool
}

func compileName(text string) (*namer, error) {
	t, err := template.New("name").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	return &namer{tmpl: t, hasExt: endsInExt(t)}, nil
}

// endsInExt reports whether the template's last node is literal text whose
// last path component holds a dot: "{{.Seq}}.json" sets an extension,
// "{{.Seq}}-{{.ControlID}}" does not (a dot inside a control id must not
// count, which is why this looks at the template and not at its output).
func endsInExt(t *template.Template) bool {
	nodes := t.Tree.Root.Nodes
	if len(nodes) == 0 {
		return false
	}
	txt, ok := nodes[len(nodes)-1].(*parse.TextNode)
	if !ok {
		return false
	}
	s := string(txt.Text)
	return strings.Contains(s[strings.LastIndexByte(s, '/')+1:], ".")
}

// errEmptyName is a template that renders to no name at all for a message.
var errEmptyName = errors.New("the name template renders an empty name")

// render returns the file's path relative to dir, with ext added unless the
// template sets its own. Empty components ("a//b") are dropped; ".", ".."
// and over-long components are errors. Either error depends only on the
// message and the template, so a retry would fail the same way.
func (n *namer) render(d NameData, ext string) (string, error) {
	var b strings.Builder
	if err := n.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("name template: %w", err)
	}
	var parts []string
	for _, p := range strings.Split(b.String(), "/") {
		switch {
		case p == "":
			continue
		case p == "." || p == "..":
			return "", fmt.Errorf("name %q: %q is not allowed as a path component", b.String(), p)
		case strings.IndexByte(p, 0) >= 0:
			return "", fmt.Errorf("name %q: NUL byte", b.String())
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "", errEmptyName
	}
	if !n.hasExt {
		parts[len(parts)-1] += ext
	}
	for _, p := range parts {
		if len(p) > maxComponent {
			return "", fmt.Errorf("name component of %d bytes is longer than %d", len(p), maxComponent)
		}
	}
	rel := filepath.FromSlash(strings.Join(parts, "/"))
	if !filepath.IsLocal(rel) { // belt and braces: the checks above already ensure it
		return "", fmt.Errorf("name %q is not inside dir", rel)
	}
	return rel, nil
}

// extFor is the extension for a content type when the template sets none.
func extFor(format, contentType string) string {
	switch {
	case format == formatNDJSON:
		return ".ndjson"
	case contentType == channels.ContentFHIR:
		return ".json"
	case contentType == channels.ContentHL7v2:
		return ".hl7"
	}
	return ".dat"
}

// sample is the message Validate renders the template with.
var sample = NameData{
	Seq:            42,
	ControlID:      "MSG00042",
	MessageType:    "ADT^A01",
	Route:          "route",
	Source:         "listener",
	Key:            "123_HOSP",
	IdempotencyKey: "APP_FAC_MSG00042",
	Time:           time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
}

// check renders the template for sample messages, so that an unknown field
// or a name escaping dir is a configuration error rather than a
// dead-lettered message.
func (n *namer) check() error {
	var b strings.Builder
	if err := n.tmpl.Execute(&b, sample); err != nil {
		return err
	}
	if strings.HasPrefix(b.String(), "/") || filepath.IsAbs(b.String()) {
		return fmt.Errorf("%q is absolute; a name is relative to dir", b.String())
	}
	_, err := n.render(sample, ".json")
	return err
}

// dependsOn reports whether changing d with change changes the name.
func (n *namer) dependsOn(change func(*NameData)) bool {
	d := sample
	change(&d)
	a, errA := n.render(sample, "")
	b, errB := n.render(d, "")
	return errA == nil && errB == nil && a != b
}

// received is the message's journal time; a message handed over without
// one (a caller outside the engine) gets the attempt's time.
func received(m *channels.Message, now time.Time) time.Time {
	if m.Received.IsZero() {
		return now
	}
	return m.Received
}

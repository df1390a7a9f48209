package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yparser "github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/internal/suggest"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"

	"github.com/plexus-hl7/plexus/internal/yamlnode"
)

type parser struct {
	file string
	src  []byte
	cfg  *Config
	errs Errors

	// nodes of what was decoded, for checks that point back at the file
	top        map[string]ast.Node // top-level keys
	dupNodes   []ast.Node          // per listener: its duplicates key, or nil
	destNodes  map[string]ast.Node
	routeNodes []routeNodes
}

type routeNodes struct {
	from, to  []ast.Node
	transform ast.Node
}

func (p *parser) pos(n ast.Node) Pos {
	if n == nil {
		return Pos{File: p.file}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{File: p.file}
	}
	return Pos{File: p.file, Line: tk.Position.Line, Column: tk.Position.Column}
}

func (p *parser) errAt(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Snippet: snippet(p.src, pos.Line, pos.Column)})
}

func (p *parser) errorf(n ast.Node, format string, args ...any) { p.errAt(p.pos(n), format, args...) }

func (p *parser) warnf(n ast.Node, format string, args ...any) {
	pos := p.pos(n)
	p.cfg.Warnings = append(p.cfg.Warnings, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Snippet: snippet(p.src, pos.Line, pos.Column)})
}

// unwrap: see yamlnode.Unwrap.
func unwrap(n ast.Node) ast.Node { return yamlnode.Unwrap(n) }

func keyName(mv *ast.MappingValueNode) string {
	if s, ok := mv.Key.(interface{ GetValue() any }); ok {
		return fmt.Sprint(s.GetValue())
	}
	return mv.Key.String()
}

// mapping returns n as a mapping, or reports that it is not one.
func (p *parser) mapping(n ast.Node, what string) []*ast.MappingValueNode {
	n = unwrap(n)
	if m, ok := n.(*ast.MappingNode); ok {
		return m.Values
	}
	if _, ok := n.(*ast.NullNode); ok || n == nil {
		return nil
	}
	p.errorf(n, "%s must be a mapping of keys to values, not %s", what, describe(n))
	return nil
}

func (p *parser) sequence(n ast.Node, what string) []ast.Node {
	n = unwrap(n)
	if s, ok := n.(*ast.SequenceNode); ok {
		return s.Values
	}
	if _, ok := n.(*ast.NullNode); ok || n == nil {
		return nil
	}
	p.errorf(n, "%s must be a list, not %s", what, describe(n))
	return nil
}

func describe(n ast.Node) string {
	switch unwrap(n).(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "empty"
	}
	return fmt.Sprintf("the value %s", strings.TrimSpace(n.String()))
}

// str returns a scalar's text, or reports that it is not one.
func (p *parser) str(n ast.Node, what string) string {
	n = unwrap(n)
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.(ast.ScalarNode).GetToken().Value
	case *ast.LiteralNode:
		return strings.TrimRight(v.Value.Value, "\n")
	}
	p.errorf(n, "%s must be a single value, not %s", what, describe(n))
	return ""
}

// strList takes one string or a list of strings.
func (p *parser) strList(n ast.Node, what string) ([]string, []ast.Node) {
	if _, ok := unwrap(n).(*ast.SequenceNode); !ok {
		s := p.str(n, what)
		if s == "" {
			return nil, nil
		}
		return []string{s}, []ast.Node{n}
	}
	var out []string
	var nodes []ast.Node
	for _, item := range p.sequence(n, what) {
		if s := p.str(item, what+" item"); s != "" {
			out = append(out, s)
			nodes = append(nodes, item)
		}
	}
	return out, nodes
}

func (p *parser) unknownKey(mv *ast.MappingValueNode, where string, known []string) {
	k := keyName(mv)
	msg := fmt.Sprintf("unknown key %q in %s", k, where)
	if s := suggest.Closest(k, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += " (known: " + strings.Join(known, ", ") + ")"
	}
	p.errorf(mv.Key, "%s", msg)
}

var topKeys = []string{"listeners", "destinations", "routes", "pipeline", "duplicates", "retention"}

func (p *parser) parse() bool {
	p.cfg.Pipeline = Pipeline{Workers: 4, Queue: 256, MaxBacklog: 10000}
	p.cfg.Duplicates = Duplicates{Action: "record", Window: 24 * time.Hour}
	p.cfg.Retention = Retention{Keep: 30 * 24 * time.Hour, Every: 10 * time.Minute}
	f, err := yparser.ParseBytes(p.src, 0)
	if err != nil {
		var te interface{ GetToken() *token.Token }
		pos := Pos{File: p.file}
		if errors.As(err, &te) && te.GetToken() != nil && te.GetToken().Position != nil {
			pos.Line, pos.Column = te.GetToken().Position.Line, te.GetToken().Position.Column
		}
		msg := err.Error()
		if m, ok := err.(interface{ GetMessage() string }); ok {
			msg = m.GetMessage()
		}
		p.errAt(pos, "YAML: %s", msg)
		return false
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		p.errAt(Pos{File: p.file}, "the file is empty: it needs listeners, destinations and routes")
		return false
	}
	if len(f.Docs) > 1 {
		p.errorf(f.Docs[1].Body, "only one YAML document is read; remove the second")
	}
	seen := map[string]bool{}
	for _, mv := range p.mapping(f.Docs[0].Body, "routes.yaml") {
		k := keyName(mv)
		if seen[k] {
			p.errorf(mv.Key, "%s is set twice", k)
			continue
		}
		seen[k] = true
		if p.top == nil {
			p.top = map[string]ast.Node{}
		}
		p.top[k] = mv.Key
		if p.cfg.sections == nil {
			p.cfg.sections = map[string]string{}
		}
		p.cfg.sections[k] = mv.Value.String()
		switch k {
		case "listeners":
			for _, n := range p.sequence(mv.Value, "listeners") {
				p.listener(n)
			}
		case "destinations":
			p.destinations(mv.Value)
		case "routes":
			for _, n := range p.sequence(mv.Value, "routes") {
				p.route(n)
			}
		case "pipeline":
			p.decode(mv.Value, &p.cfg.Pipeline, "pipeline")
		case "duplicates":
			p.decode(mv.Value, &p.cfg.Duplicates, "duplicates")
		case "retention":
			p.decode(mv.Value, &p.cfg.Retention, "retention")
		default:
			p.unknownKey(mv, "routes.yaml", topKeys)
		}
	}
	for _, k := range []string{"listeners", "routes"} {
		if !seen[k] {
			p.errAt(Pos{File: p.file, Line: 1, Column: 1}, "%s is missing", k)
		}
	}
	return true
}

// decode decodes n into v (a pointer to a struct with yaml tags). Unknown
// keys are all reported (goccy's strict mode stops at the first); type
// errors come from goccy with their position.
func (p *parser) decode(n ast.Node, v any, where string) bool {
	if n == nil {
		return true
	}
	if _, ok := unwrap(n).(*ast.NullNode); ok {
		return true
	}
	before := len(p.errs)
	p.checkKeys(n, reflect.TypeOf(v), where)
	if len(p.errs) > before {
		return false
	}
	if err := yaml.NodeToValue(n, v, yaml.Strict()); err != nil {
		p.yamlError(n, err)
		return false
	}
	return true
}

func (p *parser) yamlError(n ast.Node, err error) {
	pos := p.pos(n)
	var te interface{ GetToken() *token.Token }
	if errors.As(err, &te) && te.GetToken() != nil && te.GetToken().Position != nil {
		pos.Line, pos.Column = te.GetToken().Position.Line, te.GetToken().Position.Column
	}
	msg := err.Error()
	if m, ok := err.(interface{ GetMessage() string }); ok {
		msg = m.GetMessage()
	}
	// goccy speaks of Go types ("cannot unmarshal string into Go struct
	// field Listener.MLLP of type int"); the reader wrote YAML.
	if m := typeErr.FindStringSubmatch(msg); m != nil {
		val := ""
		if te != nil && te.GetToken() != nil {
			val = strconv.Quote(te.GetToken().Value) + " "
		}
		want := m[1]
		switch {
		case strings.HasPrefix(want, "int"), strings.HasPrefix(want, "uint"):
			want = "a whole number"
		case strings.HasPrefix(want, "float"):
			want = "a number"
		case want == "bool":
			want = "true or false"
		case strings.HasSuffix(want, "Duration"):
			want = "a duration such as 30s or 5m"
		case want == "string", strings.HasSuffix(want, "Secret"):
			want = "a single value"
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		default:
			want = "a mapping"
		}
		msg = fmt.Sprintf("%sis not valid here: %s is wanted", val, want)
	}
	p.errAt(pos, "%s", msg)
}

var typeErr = regexp.MustCompile(`^cannot unmarshal \S+ into Go (?:struct field \S+ of type|value of type) (\S+)`)

// checkKeys reports every key of n that t (a struct, through pointers,
// slices and maps) has no yaml tag for, recursing into nested structs.
func (p *parser) checkKeys(n ast.Node, t reflect.Type, where string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n = unwrap(n)
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(time.Time{}) {
			return
		}
		m, ok := n.(*ast.MappingNode)
		if !ok {
			return // the decoder reports the type mismatch
		}
		fields := map[string]reflect.Type{}
		var known []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = f.Type
			known = append(known, name)
		}
		for _, mv := range m.Values {
			k := keyName(mv)
			ft, ok := fields[k]
			if !ok {
				p.unknownKey(mv, where, known)
				continue
			}
			p.checkKeys(mv.Value, ft, where+"."+k)
		}
	case reflect.Slice:
		if s, ok := n.(*ast.SequenceNode); ok {
			for i, item := range s.Values {
				p.checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", where, i))
			}
		}
	}
}

func (p *parser) listener(n ast.Node) {
	l := &Listener{Ack: "original", Unrouted: "accept", Pos: p.pos(n)}
	if !p.decode(n, l, "listener") {
		return
	}
	p.expandEnv(l, n)
	nodes := map[string]ast.Node{}
	for _, mv := range p.mapping(n, "listener") {
		nodes[keyName(mv)] = mv.Key
		if keyName(mv) == "versions" {
			// versions as written: an unquoted 2.40 is a YAML number,
			// which decodes as "2.4"
			if seq, ok := unwrap(mv.Value).(*ast.SequenceNode); ok && len(seq.Values) == len(l.Versions) {
				for i, v := range seq.Values {
					if tk := v.GetToken(); tk != nil {
						l.Versions[i] = tk.Value
					}
				}
			}
		}
	}
	at := func(k string) ast.Node {
		if nd, ok := nodes[k]; ok {
			return nd
		}
		return n
	}
	if l.Name == "" {
		p.errorf(n, "a listener needs a name")
	} else if msg := badName(l.Name); msg != "" {
		p.errorf(at("name"), "listener name %q %s", l.Name, msg)
	}
	if t := l.MLLP.TLS; t != nil {
		for _, f := range []string{t.Cert, t.Key, t.ClientCA} {
			if f == "" {
				continue
			}
			path := f
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.cfg.Dir, path)
			}
			if _, err := os.Stat(path); err != nil {
				p.errorf(at("mllp"), "listener %s: tls file %s: %v", l.Name, f, errors.Unwrap(err))
			}
		}
	}
	if l.MLLP.Addr == "" {
		p.errorf(at("mllp"), "listener %s needs mllp: {addr: \":2575\"}", l.Name)
	} else if _, port, ok := portOf(l.MLLP.Addr); !ok {
		p.errorf(at("mllp"), "listener %s: addr %q is not host:port (\":2575\" listens on every interface)", l.Name, l.MLLP.Addr)
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		p.errorf(at("mllp"), "listener %s: addr %q: port %q is not a port number", l.Name, l.MLLP.Addr, port)
	}
	if t := l.MLLP.TLS; t != nil && (t.Cert == "" || t.Key == "") {
		p.errorf(at("mllp"), "listener %s: tls needs cert and key", l.Name)
	}
	if l.Ack != "original" && l.Ack != "enhanced" {
		p.errorf(at("ack"), "ack %q is not original or enhanced", l.Ack)
	}
	if l.Duplicates != nil {
		p.dupNodes = append(p.dupNodes, at("duplicates"))
	} else {
		p.dupNodes = append(p.dupNodes, nil)
	}
	if l.Unrouted != "accept" && l.Unrouted != "reject" {
		p.errorf(at("unrouted"), "unrouted %q is not accept or reject", l.Unrouted)
	}
	p.cfg.Listeners = append(p.cfg.Listeners, l)
}

var destKeys = []string{"workers", "timeout", "retry", "key"}

func (p *parser) destinations(n ast.Node) {
	p.destNodes = map[string]ast.Node{}
	for _, mv := range p.mapping(n, "destinations") {
		name := keyName(mv)
		if _, dup := p.destNodes[name]; dup {
			p.errorf(mv.Key, "destination %s is defined twice", name)
			continue
		}
		p.destNodes[name] = mv.Key
		if msg := badName(name); msg != "" {
			p.errorf(mv.Key, "destination name %q %s", name, msg)
		}
		d := &Destination{Name: name, Workers: defaultWorkers, Timeout: defaultDestTimeout, Retry: DefaultRetry, Pos: p.pos(mv.Key)}
		var kindNode *ast.MappingValueNode
		badKind := false
		for _, kv := range p.mapping(mv.Value, "destination "+name) {
			k := keyName(kv)
			switch k {
			case "workers":
				p.decode(kv.Value, &d.Workers, "workers")
				if d.Workers < 1 {
					p.errorf(kv.Value, "workers must be at least 1")
				}
			case "timeout":
				if p.decode(kv.Value, &d.Timeout, "timeout") && d.Timeout <= 0 {
					p.errorf(kv.Value, "timeout must be more than 0 (it bounds each delivery attempt)")
				}
			case "key":
				k, err := transforms.CompileText(p.file, kv.Value, "key")
				if err != nil {
					p.loadErrors(err)
				}
				d.Key = k
			case "retry":
				p.decode(kv.Value, &d.Retry, "retry")
				if d.Retry.Initial <= 0 || d.Retry.Max < d.Retry.Initial {
					p.errorf(kv.Value, "retry: initial must be > 0 and max at least initial")
				}
			default:
				if _, ok := channels.Lookup(k); !ok {
					p.errorf(kv.Key, "destination %s: %q is not a kind of destination (kinds: %s) nor one of %s", name, k, strings.Join(channels.Kinds(), ", "), strings.Join(destKeys, ", "))
					badKind = true
					continue
				}
				if kindNode != nil {
					p.errorf(kv.Key, "destination %s has two kinds, %s and %s: make two destinations", name, keyName(kindNode), k)
					continue
				}
				kindNode = kv
			}
		}
		if kindNode == nil {
			if badKind {
				continue
			}
			p.errorf(mv.Key, "destination %s needs a kind (%s)", name, strings.Join(channels.Kinds(), ", "))
			continue
		}
		d.Kind = keyName(kindNode)
		kind, _ := channels.Lookup(d.Kind)
		d.Config = kind.New()
		if !p.decode(kindNode.Value, d.Config, d.Kind) {
			continue
		}
		p.expandEnv(d.Config, kindNode.Value)
		for _, fe := range channels.FieldErrors(d.Config.Validate()) {
			p.errorf(findField(kindNode, fe.Field), "destination %s: %s", name, fe.Error())
		}
		if w, ok := d.Config.(channels.Warner); ok {
			for _, fe := range w.Warnings() {
				p.warnf(findField(kindNode, fe.Field), "destination %s: %s", name, fe.Error())
			}
		}
		p.cfg.Destinations = append(p.cfg.Destinations, d)
	}
}

// findField returns the node of the key at path (a.b[2].c) below the kind's
// key, or the deepest part of it that exists.
func findField(kind *ast.MappingValueNode, path string) ast.Node {
	return findIn(kind.Key, kind.Value, path)
}

// findIn walks path from cur, whose own place is at.
func findIn(at, cur ast.Node, path string) ast.Node {
	for _, part := range splitPath(path) {
		if idx, err := strconv.Atoi(part); err == nil {
			s, ok := unwrap(cur).(*ast.SequenceNode)
			if !ok || idx >= len(s.Values) {
				return at
			}
			cur = s.Values[idx]
			at = cur
			continue
		}
		m, ok := unwrap(cur).(*ast.MappingNode)
		if !ok {
			return at
		}
		found := false
		for _, mv := range m.Values {
			if keyName(mv) == part {
				at, cur, found = mv.Key, mv.Value, true
				break
			}
		}
		if !found {
			return at
		}
	}
	return at
}

func splitPath(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, ".") {
		for seg != "" {
			i := strings.IndexByte(seg, '[')
			if i < 0 {
				out = append(out, seg)
				break
			}
			if i > 0 {
				out = append(out, seg[:i])
			}
			j := strings.IndexByte(seg[i:], ']')
			if j < 0 {
				out = append(out, seg[i+1:])
				break
			}
			out = append(out, seg[i+1:i+j])
			seg = seg[i+j+1:]
		}
	}
	return out
}

var routeKeys = []string{"name", "from", "when", "transform", "to"}

func (p *parser) route(n ast.Node) {
	r := &Route{Pos: p.pos(n)}
	var rn routeNodes
	for _, mv := range p.mapping(n, "route") {
		switch keyName(mv) {
		case "name":
			r.Name = p.str(mv.Value, "name")
		case "from":
			r.From, rn.from = p.strList(mv.Value, "from")
		case "when":
			c, err := transforms.CompileCondition(p.file, mv.Value)
			if err != nil {
				p.loadErrors(err)
			}
			r.When = c
		case "transform":
			r.Transform = p.str(mv.Value, "transform")
			rn.transform = mv.Value
		case "to":
			r.To, rn.to = p.strList(mv.Value, "to")
		default:
			p.unknownKey(mv, "route", routeKeys)
		}
	}
	if r.Name == "" {
		p.errorf(n, "a route needs a name")
	} else if msg := badName(r.Name); msg != "" {
		p.errorf(n, "route name %q %s", r.Name, msg)
	}
	for i, t := range r.To {
		if slices.Contains(r.To[:i], t) {
			p.errorf(rn.to[i], "route %s sends to %s twice", r.Name, t)
		}
	}
	if len(r.To) == 0 {
		p.errorf(n, "route %s needs to: (one or more destinations)", r.Name)
	}
	switch {
	case r.Transform == "":
		p.errorf(n, "route %s needs transform: builtin (the built-in map for each message type), raw (forward v2 unchanged), a built-in map's name or a rules file", r.Name)
	case r.Transform == TransformBuiltin || r.Transform == TransformRaw:
	default:
		name := r.Transform
		if !transforms.IsBuiltin(name) && !strings.HasPrefix(name, "/") {
			name = p.cfg.Dir + "/" + name
		}
		rules, err := (&transforms.Loader{Builtins: maps.FS}).Load(name)
		if err != nil {
			p.errorf(rn.transform, "route %s: transform %s does not load (errors follow)", r.Name, r.Transform)
			p.loadErrors(err)
		}
		r.Rules = rules
	}
	p.cfg.Routes = append(p.cfg.Routes, r)
	p.routeNodes = append(p.routeNodes, rn)
}

// loadErrors adds the rule language's errors, which carry their own file
// (routes.yaml for a when:, the rules file for a transform).
func (p *parser) loadErrors(err error) {
	var le transforms.LoadErrors
	if !errors.As(err, &le) {
		p.errAt(Pos{File: p.file}, "%v", err)
		return
	}
	for _, e := range le {
		pos := Pos{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column}
		msg := e.Msg
		if e.Expr != "" {
			msg += ": " + e.Expr
		}
		var snip string
		if pos.File == p.file {
			snip = snippet(p.src, pos.Line, pos.Column)
		}
		p.errs = append(p.errs, &Error{Pos: pos, Msg: msg, Snippet: snip})
	}
}

// check looks across sections: names that must exist, ports, content
// types each destination takes.
func (p *parser) check() {
	cfg := p.cfg
	listeners := map[string]*Listener{}
	var lnames []string
	for _, l := range cfg.Listeners {
		if l.Name == "" {
			continue
		}
		if listeners[l.Name] != nil {
			p.errAt(l.Pos, "listener %s is defined twice", l.Name)
		}
		listeners[l.Name] = l
		lnames = append(lnames, l.Name)
	}
	for i, a := range cfg.Listeners {
		for _, b := range cfg.Listeners[:i] {
			if samePort(a.MLLP.Addr, b.MLLP.Addr) {
				p.errAt(a.Pos, "listeners %s and %s both listen on %s", b.Name, a.Name, a.MLLP.Addr)
			}
		}
	}
	dests := map[string]*Destination{}
	var dnames []string
	for _, d := range cfg.Destinations {
		dests[d.Name] = d
		dnames = append(dnames, d.Name)
	}
	used := map[string]bool{}
	fed := map[string]bool{}
	names := map[string]bool{}
	for i, r := range cfg.Routes {
		rn := p.routeNodes[i]
		if r.Name != "" && names[r.Name] {
			p.errAt(r.Pos, "route %s is defined twice", r.Name)
		}
		names[r.Name] = true
		if len(r.From) == 0 {
			// no from: every listener
			for _, l := range cfg.Listeners {
				fed[l.Name] = true
			}
		}
		for j, f := range r.From {
			if listeners[f] == nil {
				p.errorf(rn.from[j], "route %s: no listener named %s%s", r.Name, f, didYouMean(f, lnames))
			}
			fed[f] = true
		}
		ct := channels.ContentFHIR
		if r.Transform == TransformRaw {
			ct = channels.ContentHL7v2
		}
		for j, t := range r.To {
			d := dests[t]
			if _, defined := p.destNodes[t]; defined && d == nil {
				continue // the destination itself is in error
			}
			if d == nil {
				p.errorf(rn.to[j], "route %s: no destination named %s%s", r.Name, t, didYouMean(t, dnames))
				continue
			}
			used[t] = true
			if a, ok := d.Config.(channels.Accepter); ok && !a.Accepts(ct) {
				what := "FHIR Bundles"
				if ct == channels.ContentHL7v2 {
					what = "raw HL7 v2 (transform: raw)"
				}
				p.errorf(rn.to[j], "route %s: destination %s (%s) does not take %s", r.Name, t, d.Kind, what)
			}
		}
	}
	for _, l := range cfg.Listeners {
		if !fed[l.Name] {
			p.cfg.Warnings = append(p.cfg.Warnings, &Error{Pos: l.Pos, Msg: fmt.Sprintf("no route takes messages from listener %s: they are all unrouted", l.Name)})
		}
	}
	for _, d := range cfg.Destinations {
		if !used[d.Name] {
			p.cfg.Warnings = append(p.cfg.Warnings, &Error{Pos: d.Pos, Msg: fmt.Sprintf("no route sends to destination %s", d.Name)})
		}
	}
	if !validDuplicates(cfg.Duplicates.Action) {
		p.errorf(p.top["duplicates"], "duplicates: action %q is not record, ignore, process or off", cfg.Duplicates.Action)
	}
	for i, l := range cfg.Listeners {
		d := l.Duplicates
		if d == nil || i >= len(p.dupNodes) {
			continue
		}
		// what the listener leaves out comes from the file's setting
		if d.Action == "" {
			d.Action = cfg.Duplicates.Action
		}
		if d.Window == 0 {
			d.Window = cfg.Duplicates.Window
		}
		if !validDuplicates(d.Action) {
			p.errorf(p.dupNodes[i], "listener %s: duplicates action %q is not record, ignore, process or off", l.Name, d.Action)
		}
		if d.Window < 0 {
			p.errorf(p.dupNodes[i], "listener %s: duplicates window must not be negative", l.Name)
		}
	}
	if cfg.Duplicates.Window < 0 {
		p.errorf(p.top["duplicates"], "duplicates: window must not be negative")
	}
	if r := cfg.Retention; r.Keep < 0 || r.Every <= 0 {
		p.errorf(p.top["retention"], "retention: keep must not be negative (0 keeps everything) and every must be more than 0")
	} else if r.Keep > 0 && r.Keep <= cfg.Duplicates.Window && cfg.Duplicates.Action != "off" {
		p.errorf(p.top["retention"], "retention: keep (%s) must be longer than the duplicates window (%s), or a sender's retry of a pruned message would not be recognised", r.Keep, cfg.Duplicates.Window)
	}
	if pl := cfg.Pipeline; pl.Workers < 1 || pl.Queue < 1 || pl.MaxBacklog < 1 {
		p.errorf(p.top["pipeline"], "pipeline: workers, queue and max_backlog must be at least 1")
	}
}

func didYouMean(s string, known []string) string {
	if c := suggest.Closest(s, known); c != "" {
		return fmt.Sprintf(" (did you mean %s?)", c)
	}
	if len(known) > 0 {
		k := slices.Clone(known)
		slices.Sort(k)
		return " (defined: " + strings.Join(k, ", ") + ")"
	}
	return ""
}

// samePort reports whether two listen addresses would collide: the same
// port on the same host, or on any host when one of them is a wildcard.
func samePort(a, b string) bool {
	ha, pa, ok1 := portOf(a)
	hb, pb, ok2 := portOf(b)
	if !ok1 || !ok2 || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" || h == "[::]" }
	loop := func(h string) string {
		if h == "localhost" || h == "::1" {
			return "127.0.0.1"
		}
		return h
	}
	return loop(ha) == loop(hb) || wild(ha) || wild(hb)
}

func validDuplicates(action string) bool {
	switch action {
	case "record", "ignore", "process", "off":
		return true
	}
	return false
}

// badName says what is wrong with a listener, destination or route name,
// or "". Names go into store keys, metrics labels and file names: no
// control characters (NUL least of all: it separates the parts of keys).
func badName(name string) string {
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "holds a control character"
		}
	}
	if strings.TrimSpace(name) != name {
		return "starts or ends with a space"
	}
	return ""
}

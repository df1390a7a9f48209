package transforms

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Loader finds and compiles rule files: a name without a path separator or
// .yaml suffix is a built-in map (Builtins/NAME.yaml), anything else a file.
// A rule file may extend another (extends: NAME or PATH, a path relative
// to the extending file): it inherits the base's resources, replaces the
// elements it sets again, adds new ones, and drops a resource with
// `remove: true`.
//
// A map may also take the resources of a part (`- include: NAME` among
// its resources; NAME is a built-in part, Builtins/parts/NAME.yaml, or a
// path relative to the including file): a file of resources written once
// for a segment map that several message maps use. An item after the
// include with the id of an included resource refines it, as an extension
// would.
type Loader struct {
	Builtins fs.FS
}

// Load compiles the named rule file with everything it extends.
func (l *Loader) Load(name string) (*Rules, error) {
	rf, errs := l.read(name, "", map[string]bool{})
	if rf == nil {
		errs.sort()
		return nil, errs
	}
	r, cerrs := compileFile(rf)
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return r, nil
}

// IsBuiltin reports whether name names a built-in map rather than a file.
func IsBuiltin(name string) bool {
	return !strings.ContainsAny(name, `/\`) && !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml")
}

func (l *Loader) read(name, from string, seen map[string]bool) (*ruleFile, LoadErrors) {
	rf, file, errs := l.parse(name, from, "", seen)
	if rf == nil {
		return nil, errs
	}
	defer delete(seen, file)
	if rf.Extends == nil {
		return rf, errs
	}
	base, berrs := l.read(rf.Extends.text, file, seen)
	errs = append(errs, berrs...)
	if base == nil {
		if len(berrs) > 0 {
			errs = append(errs, &LoadError{Pos: rf.Extends.pos, Msg: "cannot load the file it extends"})
		}
		return nil, errs
	}
	merged, merrs := merge(base, rf)
	return merged, append(errs, merrs...)
}

// parse reads and parses one file (a map, or with dir "parts" a part)
// and expands its includes. The file stays in seen until the caller is
// done with it, so that a cycle of extends or includes is an error while
// the same part included by two others is not.
func (l *Loader) parse(name, from, dir string, seen map[string]bool) (*ruleFile, string, LoadErrors) {
	var src []byte
	var err error
	file := name
	if IsBuiltin(name) {
		path := name + ".yaml"
		if dir != "" {
			path = dir + "/" + path
		}
		file = "builtin:" + strings.TrimSuffix(path, ".yaml")
		if l.Builtins == nil {
			err = fmt.Errorf("no built-in maps are available")
		} else if src, err = fs.ReadFile(l.Builtins, path); err != nil {
			if dir != "" {
				err = fmt.Errorf("no built-in part %q", name)
			} else {
				err = fmt.Errorf("no built-in map %q", name)
			}
		}
	} else {
		if from != "" && !filepath.IsAbs(name) && !strings.HasPrefix(from, "builtin:") {
			file = filepath.Join(filepath.Dir(from), name)
		}
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, file, LoadErrors{{Pos: Pos{File: file}, Msg: err.Error()}}
	}
	if seen[file] {
		return nil, file, LoadErrors{{Pos: Pos{File: file}, Msg: "extends or includes itself (a cycle of extends or includes)"}}
	}
	seen[file] = true
	rf, errs := parseRules(file, src)
	if rf == nil {
		delete(seen, file)
		return nil, file, errs
	}
	return rf, file, append(errs, l.expand(rf, file, seen)...)
}

// expand replaces each `- include: NAME` of rf by the resources of that
// part. An item after the include with the id of an included resource
// refines it, as a file that extends another would (elements added or
// replaced, `remove: true` drops it), so that a map can take a shared
// part and change what differs in its message.
func (l *Loader) expand(rf *ruleFile, file string, seen map[string]bool) LoadErrors {
	var errs LoadErrors
	var out []*ruleResource
	included := map[string]*ruleResource{}
	for _, r := range rf.Resources {
		if r.Include == nil {
			b, ok := included[r.ID]
			switch {
			case !ok || r.ID == "":
				out = append(out, r)
			case r.Remove:
				out = deleteResource(out, b)
				delete(included, r.ID)
			default:
				errs = append(errs, refine(b, r)...)
			}
			continue
		}
		part, pfile, perrs := l.parse(r.Include.text, file, "parts", seen)
		errs = append(errs, perrs...)
		if part == nil {
			if len(perrs) > 0 {
				errs = append(errs, &LoadError{Pos: r.Include.pos, Msg: fmt.Sprintf("cannot load the part %q it includes", r.Include.text)})
			}
			continue
		}
		delete(seen, pfile)
		if part.Bundle != "" || part.Extends != nil || part.Timezone != nil || part.OnError != "" || part.Structure != nil {
			errs = append(errs, &LoadError{Pos: part.pos, Msg: "a part holds only name, description and resources (bundle, extends, structure, timezone and on_error belong to the map that includes it)"})
		}
		for _, pr := range part.Resources {
			if _, dup := included[pr.ID]; dup && pr.ID != "" {
				errs = append(errs, &LoadError{Pos: r.Include.pos, Msg: fmt.Sprintf("include %s: resource %q is already included", r.Include.text, pr.ID)})
				continue
			}
			cp := *pr
			cp.Set = append([]setEntry(nil), pr.Set...)
			included[pr.ID] = &cp
			out = append(out, &cp)
		}
	}
	rf.Resources = out
	return errs
}

// merge lays the rules of over on base.
func merge(base, over *ruleFile) (*ruleFile, LoadErrors) {
	var errs LoadErrors
	out := *base
	out.pos = over.pos
	out.Name = over.Name
	out.Extends = nil
	if over.Description != "" {
		out.Description = over.Description
	}
	if over.Bundle != "" {
		out.Bundle = over.Bundle
	}
	if over.Timezone != nil {
		out.Timezone = over.Timezone
	}
	if over.Structure != nil {
		out.Structure = over.Structure
	}
	if over.OnError != "" {
		out.OnError = over.OnError
	}
	out.Resources = nil
	byID := map[string]*ruleResource{}
	for _, r := range base.Resources {
		cp := *r
		cp.Set = append([]setEntry(nil), r.Set...)
		out.Resources = append(out.Resources, &cp)
		byID[r.ID] = &cp
	}
	for _, r := range over.Resources {
		b, ok := byID[r.ID]
		if !ok {
			if r.Remove {
				errs = append(errs, &LoadError{Pos: r.pos, Msg: fmt.Sprintf("remove: the base has no resource %q", r.ID)})
				continue
			}
			out.Resources = append(out.Resources, r)
			continue
		}
		if r.Remove {
			out.Resources = deleteResource(out.Resources, b)
			continue
		}
		errs = append(errs, refine(b, r)...)
	}
	return &out, errs
}

// refine lays resource r over b: its when, foreach and key replace b's,
// its elements replace b's of the same path or are added after them.
func refine(b, r *ruleResource) LoadErrors {
	var errs LoadErrors
	if r.Resource != nil && b.Resource != nil && r.Resource.text != b.Resource.text {
		errs = append(errs, &LoadError{Pos: r.Resource.pos, Msg: fmt.Sprintf("resource %q is a %s where it is first written; an extension cannot change it to %s", r.ID, b.Resource.text, r.Resource.text)})
	}
	if r.When != nil {
		b.When = r.When
	}
	if r.Foreach != nil {
		b.Foreach = r.Foreach
	}
	if r.Key != nil {
		b.Key = r.Key
	}
	for _, se := range r.Set {
		replaced := false
		for i := range b.Set {
			if b.Set[i].path.text == se.path.text {
				b.Set[i] = se
				replaced = true
			}
		}
		if !replaced {
			b.Set = append(b.Set, se)
		}
	}
	return errs
}

func deleteResource(list []*ruleResource, r *ruleResource) []*ruleResource {
	out := list[:0]
	for _, x := range list {
		if x != r {
			out = append(out, x)
		}
	}
	return out
}

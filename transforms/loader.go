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
	var src []byte
	var err error
	file := name
	if IsBuiltin(name) {
		file = "builtin:" + name
		if l.Builtins == nil {
			err = fmt.Errorf("no built-in maps are available")
		} else {
			src, err = fs.ReadFile(l.Builtins, name+".yaml")
			if err != nil {
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
		return nil, LoadErrors{{Pos: Pos{File: file}, Msg: err.Error()}}
	}
	if seen[file] {
		return nil, LoadErrors{{Pos: Pos{File: file}, Msg: "extends itself (a cycle of extends)"}}
	}
	seen[file] = true
	rf, errs := parseRules(file, src)
	if rf == nil || rf.Extends == nil {
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
		if r.Resource != nil && b.Resource != nil && r.Resource.text != b.Resource.text {
			errs = append(errs, &LoadError{Pos: r.Resource.pos, Msg: fmt.Sprintf("resource %q is a %s in the base; an extension cannot change it to %s", r.ID, b.Resource.text, r.Resource.text)})
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
	}
	return &out, errs
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

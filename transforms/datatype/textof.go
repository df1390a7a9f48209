package datatype

import (
	"sync"
	"unsafe"

	"github.com/plexus-hl7/plexus/hl7"
)

// TextOf is v.String(): the value's text, escapes decoded, in a string of
// its own (the message's bytes may be reused after the conversion). A
// conversion reads some hundred such texts; rather than an allocation
// each, they are copied one after another into blocks of a few KB.
//
// The blocks are append-only: a byte once written is never written again,
// so each string stays valid for as long as it is referenced, like any
// other, and keeps its block alive. A block is used by one goroutine at a
// time (they are taken from a sync.Pool and put back after each copy).
// Long texts get their own allocation, so that a block is never pinned by
// one big value; a cache that keeps a text for long clones it
// (lazyVocab.cacheCC).
func TextOf(v hl7.Value) string {
	raw := v.Raw()
	if len(raw) == 0 || v.IsNull() {
		return ""
	}
	if len(raw) > textBlock/16 {
		return v.String()
	}
	blk := textBlocks.Get().(*textBuf)
	if cap(blk.b)-len(blk.b) < len(raw) {
		// (a text whose escapes decode to more than its raw length makes
		// append move the block: the strings made so far keep the old one)
		blk.b = make([]byte, 0, textBlock)
	}
	start := len(blk.b)
	blk.b = v.AppendText(blk.b)
	n := len(blk.b) - start
	var s string
	if n > 0 {
		s = unsafe.String(&blk.b[start], n)
	}
	textBlocks.Put(blk)
	return s
}

// TextFrom is string(b) copied into the blocks of TextOf: for the texts
// converters build (dates, URIs), which would otherwise be an allocation
// each.
func TextFrom(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > textBlock/16 {
		return string(b)
	}
	blk := textBlocks.Get().(*textBuf)
	if cap(blk.b)-len(blk.b) < len(b) {
		blk.b = make([]byte, 0, textBlock)
	}
	start := len(blk.b)
	blk.b = append(blk.b, b...)
	s := unsafe.String(&blk.b[start], len(b))
	textBlocks.Put(blk)
	return s
}

// joinText is a + b, made by TextFrom.
func joinText(a, b string) string {
	var buf [textBlock / 16]byte
	if len(a)+len(b) > len(buf) {
		return a + b
	}
	return TextFrom(append(append(buf[:0], a...), b...))
}

const textBlock = 4096

type textBuf struct{ b []byte }

var textBlocks = sync.Pool{New: func() any { return new(textBuf) }}

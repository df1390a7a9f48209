package storebench

import (
	"bytes"
	"testing"
	"time"
)

func TestGen(t *testing.T) {
	var a, b Msg
	Gen(&a, 12345)
	Gen(&b, 12345)
	if len(a.Raw) != PayloadSize || !bytes.Equal(a.Raw, b.Raw) {
		t.Fatalf("Gen not deterministic or wrong size: %d", len(a.Raw))
	}
	if !bytes.HasPrefix(a.Raw, []byte("MSH|^~\\&|")) || a.Raw[len(a.Raw)-1] != '\r' {
		t.Fatalf("not an HL7 message: %q", a.Raw[:20])
	}
	if !bytes.Contains(a.Raw, a.ControlID) || !bytes.Contains(a.Raw, a.PatientID) {
		t.Fatal("ids not in the message")
	}
	Gen(&b, 12346)
	if bytes.Equal(a.Raw, b.Raw) {
		t.Fatal("two messages are equal")
	}
}

// TestStores checks every candidate's semantics: commit, verify, status,
// pending order, reopen, retention.
func TestStores(t *testing.T) {
	for _, c := range Candidates {
		t.Run(c.Name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := c.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			const n = 3000
			if err := Preload(s, 0, n, time.Now().UnixNano()); err != nil {
				t.Fatal(err)
			}
			// Deliver every message to dest 0 and the even ones to dest 1.
			var ds []Delivery
			for seq := uint64(1); seq <= n; seq++ {
				ds = append(ds, Delivery{Seq: seq, Dest: 0})
				if seq%2 == 0 {
					ds = append(ds, Delivery{Seq: seq, Dest: 1})
				}
			}
			if err := s.Commit(nil, ds); err != nil {
				t.Fatal(err)
			}
			check := func(s Store, from uint64) {
				t.Helper()
				last, err := s.LastSeq()
				if err != nil || last != n {
					t.Fatalf("LastSeq = %d, %v", last, err)
				}
				var m Msg
				for _, seq := range []uint64{from, from + 1, n / 2, n} {
					raw, err := s.Verify(seq)
					if err != nil {
						t.Fatal(err)
					}
					Gen(&m, seq-1)
					if !bytes.Equal(raw, m.Raw) {
						t.Fatalf("seq %d: raw differs", seq)
					}
				}
				if st, _ := s.Status(n-1, 1); st != StatusPending {
					t.Fatalf("status(n-1,1) = %q", st)
				}
				if st, _ := s.Status(n, 1); st != StatusDelivered {
					t.Fatalf("status(n,1) = %q", st)
				}
				var pend []uint64
				if err := s.Pending(func(dest uint8, seq uint64) {
					if dest != 1 {
						t.Fatalf("pending on dest %d", dest)
					}
					pend = append(pend, seq)
				}); err != nil {
					t.Fatal(err)
				}
				want := int((n+1)/2 - from/2) // odd seqs in [from, n]
				if len(pend) != want || pend[0] != from+1-from%2 {
					t.Fatalf("pending: %d entries from %v, want %d", len(pend), pend[:min(3, len(pend))], want)
				}
				for i := 1; i < len(pend); i++ {
					if pend[i] <= pend[i-1] {
						t.Fatal("pending not in order")
					}
				}
			}
			check(s, 1)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = c.Open(dir); err != nil {
				t.Fatal(err)
			}
			check(s, 1)
			if err := s.DeleteBefore(n / 2); err != nil {
				t.Fatal(err)
			}
			if err := s.Reclaim(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Verify(n/2 - 1); err == nil {
				t.Fatal("deleted message still there")
			}
			check(s, n/2)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = c.Open(dir); err != nil {
				t.Fatal(err)
			}
			check(s, n/2)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

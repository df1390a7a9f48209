package transforms

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
)

// FuzzCompile: any rule file source compiles or fails with LoadErrors,
// never a panic; what compiles converts a message without panicking.
func FuzzCompile(f *testing.F) {
	for _, name := range []string{"testdata/patient.yaml", "testdata/extends/local.yaml", "testdata/blocks.yaml"} {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("name: x\nresources:\n  - id: a\n    resource: Patient\n    set:\n      gender: PID[8][1][1]\n"))
	f.Add([]byte("name: x\nresources:\n  - id: a\n    resource: Observation\n    foreach: OBX\n    set:\n      valueString: v(\"OBX-5[2].1\")\n      subject: ref(a)\n"))
	f.Add([]byte("name: x\nbundle: message\nresources:\n  - {id: a, resource: Patient, when: 'present(PV1) && msg.event == \"A01\"'}\n"))
	m, err := hl7.Parse([]byte(oru))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// A hang is a bug too: crash the worker so the fuzzer keeps the input.
		hang := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("no result after 10s for %q", src)) })
		defer hang.Stop()
		r, err := Compile("fuzz.yaml", src)
		if err != nil {
			if _, ok := err.(LoadErrors); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		res, _ := r.Convert(m)
		if res == nil {
			t.Fatal("nil result")
		}
	})
}

package fhirvalidate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/internal/npmtest"
)

var shared struct {
	once sync.Once
	v    *Validator
	err  error
}

// ForTest returns the Validator shared by the tests of the test binary,
// started on first use. When node or the npm packages of testdata/node are
// missing it skips the test with a message that says how to install them, or,
// when the environment variable CI is set, fails it. Its Close does nothing:
// node exits with the test binary.
func ForTest(t testing.TB) *Validator {
	t.Helper()
	shared.once.Do(func() {
		if dir, err := nodeDir(); err == nil {
			if err := npmtest.Install(dir); err != nil {
				shared.err = fmt.Errorf("%w: %v", ErrUnavailable, err)
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared.v, shared.err = New(ctx)
		if shared.v != nil {
			shared.v.shared = true
		}
	})
	if shared.err != nil {
		if errors.Is(shared.err, ErrUnavailable) && os.Getenv("CI") == "" {
			t.Skipf("FHIR validation with @medplum/core skipped (CI unset): %v", shared.err)
		}
		t.Fatalf("FHIR validator: %v", shared.err)
	}
	return shared.v
}

// AssertValid validates resourceJSON within 30 s and reports every
// error-level issue with t.Errorf. It returns all issues, warnings included.
func (v *Validator) AssertValid(t testing.TB, resourceJSON []byte) []Issue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	issues, err := v.Validate(ctx, resourceJSON)
	if err != nil {
		t.Fatalf("FHIR validation: %v", err)
	}
	if errs := Errors(issues); len(errs) > 0 {
		var b strings.Builder
		for _, i := range errs {
			b.WriteString("\n\t" + i.String())
		}
		t.Errorf("not valid FHIR R4 (%s): %d error(s):%s", v.Engine(), len(errs), b.String())
	}
	return issues
}

package channels

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// PermanentError marks a delivery the endpoint refused for good (HTTP 4xx
// other than 408/429, MLLP AR/CR, a message too large for the topic):
// retrying it cannot help, so the engine dead-letters it at once.
type PermanentError struct {
	Err error
	// Detail is what the endpoint said, kept for the message browser (for a
	// FHIR server, its OperationOutcome; for MLLP, the ACK).
	Detail []byte
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError with the endpoint's answer.
func Permanent(err error, detail []byte) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err, Detail: detail}
}

// IsPermanent reports whether err (or anything it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfterError is a transient failure for which the endpoint said when to
// come back (HTTP Retry-After on 429/503).
type RetryAfterError struct {
	Err   error
	After time.Duration
	// Detail is the endpoint's answer, as in PermanentError.
	Detail []byte
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the wait the endpoint asked for.
func RetryAfter(err error, after time.Duration, detail []byte) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: after, Detail: detail}
}

// RetryDelay returns the wait carried by a RetryAfterError in err's chain.
func RetryDelay(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// Detail returns the endpoint's answer carried by err, if any.
func Detail(err error) []byte {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.Detail
	}
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.Detail
	}
	return nil
}

// FieldError is a problem with one setting. Field is the key path below the
// kind's key, dotted for nested maps and with [i] for list items
// ("auth.token_url", "brokers[1]"); the engine turns it into the line and
// column of that key in routes.yaml.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Fieldf returns a *FieldError for field.
func Fieldf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// FieldErrors collects the *FieldError values joined in err (as Validate
// returns them); any other error comes back with an empty Field.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var f *FieldError
	if errors.As(err, &f) {
		return []*FieldError{f}
	}
	return []*FieldError{{Msg: err.Error()}}
}

// Prefix returns errs with prefix prepended to each Field, for configs that
// validate a nested struct (tls, auth) with its own Validate.
func Prefix(prefix string, err error) error {
	fs := FieldErrors(err)
	if len(fs) == 0 {
		return nil
	}
	out := make([]error, len(fs))
	for i, f := range fs {
		field := prefix
		if f.Field != "" {
			if strings.HasPrefix(f.Field, "[") {
				field += f.Field
			} else {
				field += "." + f.Field
			}
		}
		out[i] = &FieldError{Field: field, Msg: f.Msg}
	}
	return errors.Join(out...)
}

package kafka

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/plexus-hl7/plexus/channels"
)

// classify wraps a WriteMessages error with the topics it concerns and marks
// it permanent when the broker (or kafka-go's own size check) refused the
// records for good. Everything else, including unknown errors, stays
// retryable: the engine backs off and dead-letters after its last try, so a
// wrong guess costs time, not a message.
func classify(recs []kafkago.Message, err error) error {
	errs, failed := flatten(err, len(recs))
	inner := err
	if failed != nil {
		inner = errors.Join(errs...)
	}
	wrapped := fmt.Errorf("kafka produce to %s: %w", topics(recs, failed), inner)
	for _, e := range errs {
		if permanent(e) {
			return channels.Permanent(wrapped, []byte(e.Error()))
		}
	}
	return wrapped
}

// flatten returns the distinct errors in err and the indexes of the records
// that failed (nil when the error is not per record). kafka-go reports a
// failed batch as WriteErrors, one entry per record, which neither
// errors.Is nor errors.As looks into.
func flatten(err error, n int) (errs []error, failed []int) {
	var we kafkago.WriteErrors
	if !errors.As(err, &we) || len(we) != n {
		return []error{err}, nil
	}
	seen := map[string]bool{}
	for i, e := range we {
		if e == nil {
			continue
		}
		failed = append(failed, i)
		if s := e.Error(); !seen[s] {
			seen[s] = true
			errs = append(errs, e)
		}
	}
	if len(errs) == 0 {
		return []error{err}, nil
	}
	return errs, failed
}

// topics names the distinct topics of the failed records (of all records
// when failed is nil), for the error text.
func topics(recs []kafkago.Message, failed []int) string {
	var ts []string
	add := func(t string) {
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	if failed == nil {
		for _, r := range recs {
			add(r.Topic)
		}
	} else {
		for _, i := range failed {
			add(recs[i].Topic)
		}
	}
	return strings.Join(ts, ", ")
}

// permanent reports whether err is a refusal that sending the same records
// again cannot change. Not among them: UNKNOWN_TOPIC_OR_PARTITION (an
// operator may create the topic), leader and replica errors, timeouts,
// network errors, and SASL authentication failures (a rotated password is
// fixed by a reload, after which the same message goes through).
func permanent(err error) bool {
	var code kafkago.Error
	if !errors.As(err, &code) {
		return false
	}
	switch code {
	case kafkago.MessageSizeTooLarge, // also kafka-go's own MessageTooLargeError
		kafkago.RecordListTooLarge,
		kafkago.InvalidTopic,
		kafkago.TopicAuthorizationFailed,
		kafkago.ClusterAuthorizationFailed,
		kafkago.TransactionalIDAuthorizationFailed,
		kafkago.InvalidRecord,
		kafkago.InvalidRequiredAcks,
		kafkago.UnsupportedCompressionType,
		kafkago.PolicyViolation:
		return true
	}
	return false
}

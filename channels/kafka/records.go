package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/plexus-hl7/plexus/channels"
)

// Record headers. Every record carries the first eight; a record split out
// of a Bundle (topic_per_resource) also carries the last four.
const (
	HeaderIdempotencyKey = "plexus-idempotency-key"
	HeaderMessageType    = "plexus-message-type"
	HeaderControlID      = "plexus-control-id"
	HeaderSource         = "plexus-source"
	HeaderRoute          = "plexus-route"
	HeaderContentType    = "content-type"
	HeaderSeq            = "plexus-seq"
	// HeaderReceived is when Plexus journaled the inbound message (RFC 3339,
	// UTC; absent if unknown). It is not the record's timestamp, which is
	// when it was produced: a replay of old messages must not fall foul of
	// time-based retention or the broker's timestamp limits.
	HeaderReceived = "plexus-received"

	// HeaderResourceType is the resource's resourceType.
	HeaderResourceType = "plexus-resource-type"
	// HeaderEntry is the entry's index in the Bundle. One inbound message
	// gives several records with one idempotency key: receivers that drop
	// duplicates key on (idempotency key, entry).
	HeaderEntry = "plexus-entry"
	// HeaderFullURL is the entry's fullUrl (urn:uuid:...), which the other
	// resources of the Bundle use to reference this one.
	HeaderFullURL = "plexus-full-url"
	// HeaderRequest is the entry's request as "METHOD url" (a conditional
	// update such as "PUT Patient?identifier=sys|123"), for transaction and
	// batch Bundles.
	HeaderRequest = "plexus-request"
)

// bundle is what topic_per_resource reads of a Bundle.
type bundle struct {
	ResourceType string `json:"resourceType"`
	Entry        []struct {
		FullURL string `json:"fullUrl"`
		// RawMessage's UnmarshalJSON keeps a copy, so the records do not
		// alias Message.Body (see records).
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	} `json:"entry"`
}

// records turns one delivery into the records to write. The values never
// alias m.Body: when ctx is cancelled kafka-go returns while its batch still
// holds the records and may send them later, after the engine has reused
// the Body it was promised back.
func (d *Destination) records(m *channels.Message) ([]kafkago.Message, error) {
	key := d.recordKey(m)
	if !d.cfg.TopicPerResource {
		return []kafkago.Message{{
			Topic:   d.cfg.Topic,
			Key:     key,
			Value:   bytes.Clone(m.Body),
			Headers: baseHeaders(m, m.ContentType, 0),
		}}, nil
	}

	if m.ContentType != channels.ContentFHIR {
		return nil, channels.Permanent(fmt.Errorf("kafka: topic_per_resource needs a FHIR Bundle, got content type %q", m.ContentType), nil)
	}
	var b bundle
	if err := json.Unmarshal(m.Body, &b); err != nil {
		return nil, channels.Permanent(fmt.Errorf("kafka: split Bundle: %w", err), nil)
	}
	if b.ResourceType != "Bundle" {
		return nil, channels.Permanent(fmt.Errorf("kafka: topic_per_resource needs a Bundle, got resourceType %q", b.ResourceType), nil)
	}
	out := make([]kafkago.Message, 0, len(b.Entry))
	for i, e := range b.Entry {
		if len(e.Resource) == 0 {
			// A DELETE entry in a transaction has no resource to publish.
			continue
		}
		var r struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			return nil, channels.Permanent(fmt.Errorf("kafka: split Bundle: entry %d: %w", i, err), nil)
		}
		if !resourceTypeOK(r.ResourceType) {
			return nil, channels.Permanent(fmt.Errorf("kafka: split Bundle: entry %d: bad resourceType %q", i, r.ResourceType), nil)
		}
		h := baseHeaders(m, channels.ContentFHIR, 4)
		h = append(h,
			kafkago.Header{Key: HeaderResourceType, Value: []byte(r.ResourceType)},
			kafkago.Header{Key: HeaderEntry, Value: strconv.AppendInt(nil, int64(i), 10)},
			kafkago.Header{Key: HeaderFullURL, Value: []byte(e.FullURL)})
		if e.Request != nil {
			h = append(h, kafkago.Header{Key: HeaderRequest, Value: []byte(e.Request.Method + " " + e.Request.URL)})
		}
		out = append(out, kafkago.Message{
			Topic:   d.cfg.TopicPrefix + r.ResourceType,
			Key:     key,
			Value:   e.Resource,
			Headers: h,
		})
	}
	return out, nil
}

// recordKey is the record key for m; nil (not empty) when there is none, so
// that the balancer spreads such records instead of hashing them all to
// one partition.
func (d *Destination) recordKey(m *channels.Message) []byte {
	var k string
	switch d.cfg.Key {
	case KeyPatient:
		k = m.Key
	case KeyMessage:
		k = m.IdempotencyKey
	}
	if k == "" {
		return nil
	}
	return []byte(k)
}

// baseHeaders are the headers of every record; extra is room for more.
func baseHeaders(m *channels.Message, contentType string, extra int) []kafkago.Header {
	h := make([]kafkago.Header, 0, 8+extra)
	if !m.Received.IsZero() {
		h = append(h, kafkago.Header{Key: HeaderReceived, Value: m.Received.UTC().AppendFormat(nil, time.RFC3339Nano)})
	}
	return append(h,
		kafkago.Header{Key: HeaderIdempotencyKey, Value: []byte(m.IdempotencyKey)},
		kafkago.Header{Key: HeaderMessageType, Value: []byte(m.MessageType)},
		kafkago.Header{Key: HeaderControlID, Value: []byte(m.ControlID)},
		kafkago.Header{Key: HeaderSource, Value: []byte(m.Source)},
		kafkago.Header{Key: HeaderRoute, Value: []byte(m.Route)},
		kafkago.Header{Key: HeaderContentType, Value: []byte(contentType)},
		kafkago.Header{Key: HeaderSeq, Value: strconv.AppendUint(nil, m.Seq, 10)},
	)
}

// resourceTypeOK reports whether t can be a FHIR resource type, and so a
// safe topic suffix: a capital letter, then letters and digits.
func resourceTypeOK(t string) bool {
	if t == "" || len(t) > maxResourceTypeLen || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

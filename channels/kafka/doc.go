// Package kafka is the Kafka destination: it writes each delivery with
// acks=all and returns only when every in-sync replica has it. It
// registers the kind "kafka"; the engine imports it blank.
//
// In routes.yaml (all keys but brokers and topic are optional; the values
// shown are the defaults):
//
//	destinations:
//	  events:
//	    kafka:
//	      brokers: ["kafka-1:9092", "kafka-2:9092"]
//	      topic: fhir.adt                 # the whole Bundle is one record
//	      # topic_per_resource: true      # instead: one record per entry's resource
//	      # topic_prefix: fhir.           #   on fhir.Patient, fhir.Encounter, ...
//	      key: patient                    # patient | message | none
//	      compression: none               # none | gzip | snappy | lz4 | zstd
//	      batch_timeout: 2ms
//	      batch_size: 100
//	      write_timeout: 10s
//	      dial_timeout: 5s
//	      metadata_ttl: 6s
//	      max_message_bytes: 1048576
//	      max_attempts: 3
//	      allow_auto_topic_creation: false
//	      client_id: plexus
//	      tls: { ca: ca.pem }             # channels.TLS; cert and key for mTLS
//	      sasl:
//	        mechanism: scram-sha-512      # plain | scram-sha-256 | scram-sha-512
//	        username: plexus
//	        password: ${KAFKA_PASSWORD}   # or password_file: /run/secrets/kafka
//
// # Records
//
// With topic, the Body goes as it is, one record per delivery. With
// topic_per_resource, the Bundle is split: each entry's resource is one
// record on topic_prefix + resourceType; entries without a resource (a
// transaction's DELETE) are skipped, and a Body that is not a FHIR Bundle
// is refused for good. The resources of one Bundle reference each other
// by their entries' fullUrl (urn:uuid:...), which each record carries in a
// header, with the entry's request ("PUT Patient?identifier=...").
//
// The record key is the patient (channels.Message.Key) by default, so one
// patient's records stay in one partition and in order. The destination's
// engine-level `key:` expression (beside workers and retry in routes.yaml,
// e.g. `key: v("PV1-19")` for the visit) replaces the patient as that
// partition key, for ordering and for the record key alike; message uses the
// idempotency key and none leaves the key empty (random partition, no
// order). Partitions are chosen as the Java client does (murmur2), so other
// producers of the topic agree.
//
// Every record has the headers plexus-idempotency-key, plexus-message-type,
// plexus-control-id, plexus-source, plexus-route, content-type, plexus-seq
// and plexus-received (when the message was journaled; the record's own
// timestamp is when it was produced). Split records add
// plexus-resource-type, plexus-entry, plexus-full-url and plexus-request.
// Delivery is at least once: a consumer drops duplicates by the idempotency
// key, and by (idempotency key, plexus-entry) on per-resource topics.
//
// # Missing topics
//
// By default a missing topic is not created: each delivery to it fails with
// UNKNOWN_TOPIC_OR_PARTITION, which is retried with backoff (and
// dead-lettered after the engine's last try) so that an operator can create
// the topic. The writer sees a new topic at its next metadata refresh, at
// most metadata_ttl later. With topic_per_resource every resource type the
// routes produce needs its topic: one missing topic fails the whole
// delivery before any of its records is sent.
//
// With allow_auto_topic_creation: true the writer asks the broker to create
// a missing topic, which works only where the broker's
// auto.create.topics.enable is on, with the broker's default partitions
// and replication.
//
// # Errors
//
// Retried (plain errors): network and dial errors, timeouts, leader and
// replica errors, unknown topic, SASL authentication failures, ctx ending,
// and any error not listed below. Permanent (channels.Permanent, dead-letter
// at once): a record larger than max_message_bytes (refused before it is
// sent) or than the broker allows (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE),
// an invalid topic name, topic or cluster authorization failures, an
// invalid record, unsupported compression, a policy violation, and a Body
// that topic_per_resource cannot split.
//
// The writer is shared by all deliveries, so concurrent deliveries to one
// partition are batched into one request. The broker's size limit applies
// to that batch, which is at most max_message_bytes: keep it at or below
// the topic's max.message.bytes, or a batch of small records can be
// refused as a whole.
package kafka

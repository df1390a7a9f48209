package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the engine's Prometheus series. Each Engine has its own
// registry (no global state), served at /metrics on the admin address.
type metrics struct {
	reg *prometheus.Registry

	received   *prometheus.CounterVec   // listener
	acks       *prometheus.CounterVec   // listener, code
	ackLatency *prometheus.HistogramVec // listener
	rejected   *prometheus.CounterVec   // listener, reason
	duplicates *prometheus.CounterVec   // listener

	pruned        prometheus.Counter
	commitLatency prometheus.Histogram
	commitSize    prometheus.Histogram

	backlog   prometheus.Gauge
	routed    *prometheus.CounterVec // outcome
	transform *prometheus.CounterVec // route, result

	deliveries  *prometheus.CounterVec   // destination, result
	outboxDepth *prometheus.GaugeVec     // destination
	oldest      *prometheus.GaugeVec     // destination
	endToEnd    *prometheus.HistogramVec // destination
	attemptTime *prometheus.HistogramVec // destination
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// ACKs are sub-millisecond to a few ms: fine buckets at the low end.
	ackBuckets := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
	m := &metrics{
		reg: reg,
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_messages_received_total",
			Help: "Frames received on a listener."}, []string{"listener"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_acks_total",
			Help: "Acknowledgements sent, by MSA-1 code (AA/CA accepted, AE/CE not stored, AR/CR rejected)."}, []string{"listener", "code"}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "plexus_ack_latency_seconds",
			Help: "Time from a frame's arrival to its ACK, journal sync included.", Buckets: ackBuckets}, []string{"listener"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_messages_rejected_total",
			Help: "Messages NAKed, by reason."}, []string{"listener", "reason"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_messages_duplicate_total",
			Help: "Messages recognised as a sender's retry of one already accepted."}, []string{"listener"}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{Name: "plexus_store_pruned_messages_total",
			Help: "Settled messages deleted by the retention."}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "plexus_store_commit_seconds",
			Help: "Latency of one journal group commit (write and sync).", Buckets: ackBuckets}),
		commitSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "plexus_store_commit_messages",
			Help: "Messages per journal group commit.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024}}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "plexus_pipeline_backlog",
			Help: "Messages journaled and not yet routed."}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_messages_routed_total",
			Help: "Messages through the pipeline, by outcome (routed, unrouted, failed)."}, []string{"outcome"}),
		transform: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_route_messages_total",
			Help: "Messages a route took, by result (ok, warning, error)."}, []string{"route", "result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_deliveries_total",
			Help: "Delivery attempts by result: delivered, retried, dead."}, []string{"destination", "result"}),
		outboxDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plexus_outbox_pending",
			Help: "Deliveries waiting in a destination's outbox (loaded or not)."}, []string{"destination"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plexus_outbox_oldest_age_seconds",
			Help: "Age of the oldest message a destination is working on (0 when idle)."}, []string{"destination"}),
		endToEnd: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "plexus_end_to_end_seconds",
			Help: "Time from a message's journaling to its delivery.", Buckets: prometheus.ExponentialBuckets(.0005, 2.5, 14)}, []string{"destination"}),
		attemptTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "plexus_delivery_attempt_seconds",
			Help: "Duration of one delivery attempt.", Buckets: prometheus.ExponentialBuckets(.0005, 2.5, 14)}, []string{"destination"}),
	}
	reg.MustRegister(m.pruned, m.received, m.acks, m.ackLatency, m.rejected, m.duplicates, m.commitLatency, m.commitSize,
		m.backlog, m.routed, m.transform, m.deliveries, m.outboxDepth, m.oldest, m.endToEnd, m.attemptTime)
	return m
}

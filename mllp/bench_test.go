package mllp_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

// benchMessage is a typical ADT^A01 of about 700 bytes.
var benchMessage = []byte("MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|GHH LAB, INC.|GOOD HEALTH HOSPITAL|198808181126|SECURITY|ADT^A01^ADT_A01|MSG00001|P|2.8||\r" +
	"EVN|A01|200708181123||\r" +
	"PID|1||PATID1234^^^GOOD HEALTH HOSPITAL^MR^GOOD HEALTH HOSPITAL^^^USSSA^SS||EVERYMAN^ADAM^A^III||19610615|M||2106-3^WHITE^CDCREC|2222 HOME STREET^^GREENSBORO^NC^27401-1020|GL|(555) 555-2004^^^^^555^5552004|(555)555-2004^^^^^555^5552004||S||PATID12345001^2^M10^ADT1^AN^A|444333333|987654^NC|\r" +
	"NK1|1|NUCLEAR^NELDA^W|SPO^SPOUSE||||NK^NEXT OF KIN\r" +
	"PV1|1|I|2000^2012^01||||004777^ATTEND^AARON^A|||SUR||||ADM|A0|\r" +
	"OBX|1|NM|8867-4^Heart rate^LN||72|/min^per minute^UCUM|60-100|N|||F\r")

var benchAck = []byte("MSH|^~\\&|PLEXUS|PLEXUS|ADT1|GOOD HEALTH HOSPITAL|20260101000000||ACK^A01^ACK|ACK00001|P|2.8\rMSA|AA|MSG00001\r")

// BenchmarkRoundTrip measures MLLP request/reply over loopback: a Client
// with N connections, N goroutines sending, a Server whose handler returns a
// prebuilt ACK. Reports messages per second and latency percentiles.
func BenchmarkRoundTrip(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			benchRoundTrip(b, conns)
		})
	}
}

func benchRoundTrip(b *testing.B, conns int) {
	h := mllp.HandlerFunc(func(context.Context, mllp.ConnInfo, []byte) []byte { return benchAck })
	_, addr := startServer(b, h, mllp.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	c := newClient(b, addr, mllp.ClientOptions{MaxConns: conns, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	// Open every connection before timing.
	var warm sync.WaitGroup
	for range conns {
		warm.Go(func() {
			if _, err := c.Send(ctx, benchMessage); err != nil {
				b.Error(err)
			}
		})
	}
	warm.Wait()

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				ack, err := c.Send(ctx, benchMessage)
				lat[i] = time.Since(t0)
				if err != nil || len(ack) != len(benchAck) {
					b.Errorf("Send: %d bytes, %v", len(ack), err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

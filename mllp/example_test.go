package mllp_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

func ExampleServer() {
	tlsConfig, err := mllp.ServerTLSConfig("server.pem", "server-key.pem", "client-ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv := mllp.NewServer(
		mllp.HandlerFunc(func(ctx context.Context, conn mllp.ConnInfo, msg []byte) []byte {
			// Store msg durably, then acknowledge it (a real handler builds
			// an HL7 ACK, e.g. with package hl7).
			return []byte("MSH|^~\\&|...\rMSA|AA|...\r")
		}),
		mllp.ServerOptions{
			TLSConfig: tlsConfig,
			OnFrameError: func(ctx context.Context, conn mllp.ConnInfo, err error) []byte {
				var tooLarge *mllp.FrameTooLargeError
				if !errors.As(err, &tooLarge) {
					return nil
				}
				// The prefix holds the start of the message, MSH included:
				// answer with an AR that names it (e.g. hl7.RejectRaw).
				return rejectFromPrefix(tooLarge.Prefix)
			},
			Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
		},
	)
	go func() {
		if err := srv.ListenAndServe(":2575"); !errors.Is(err, mllp.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	<-stop.Done()
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}

func rejectFromPrefix([]byte) []byte { return []byte("MSH|^~\\&|...\rMSA|AR|...\r") }

func ExampleClient() {
	c := mllp.NewClient("ehr.example.org:2575", mllp.ClientOptions{Timeout: 30 * time.Second})
	defer c.Close()

	msg := "MSH|^~\\&|PLEXUS|HOSP|EHR|HOSP|20260101120000||ADT^A01^ADT_A01|MSG0001|P|2.5.1\rPID|1||12345^^^MRN\r"
	ack, err := c.Send(context.Background(), []byte(msg))
	if err != nil {
		log.Fatal(err)
	}
	if !strings.Contains(string(ack), "MSA|AA|MSG0001") {
		log.Fatal("not accepted")
	}
}

func ExampleReader() {
	stream := "noise\x0bMSH|first\x1c\r\x0bMSH|second\x1c" // the last CR is missing
	r := mllp.NewReader(strings.NewReader(stream), mllp.ReaderOptions{})
	for {
		msg, err := r.ReadFrame()
		if err != nil {
			break // io.EOF
		}
		fmt.Printf("%s\n", msg)
	}
	fmt.Println("discarded:", r.Stats().Discarded)
	// Output:
	// MSH|first
	// MSH|second
	// discarded: 5
}

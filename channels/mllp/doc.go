// Package mllp is the "mllp" destination: it forwards each HL7 v2 message to
// another MLLP system and reports it delivered only when that system answers
// with a positive acknowledgement (AA or CA) for that very message.
//
// In routes.yaml:
//
//	destinations:
//	  lab:
//	    mllp:
//	      addr: lab.example.org:2575     # required, host:port
//	      tls: { ca: lab-ca.pem }        # optional; cert/key for mutual TLS
//	      ack_timeout: 30s               # one attempt: connect, send, wait for the ACK
//	      connect_timeout: 10s           # one connection attempt
//	      max_conns: 1                   # connections to the peer (messages in flight)
//	      max_frame_size: 1048576        # largest ACK accepted, in bytes
//
// The body must be a raw v2 message (channels.ContentHL7v2): a route that
// transforms to FHIR cannot feed an MLLP destination, and such a delivery
// fails permanently with a message saying so.
//
// How the answer is classified:
//
//	MSA-1 AA, CA                  delivered
//	MSA-1 AE, CE                  retried; the error carries MSA-3 / ERR text
//	MSA-1 AR, CR                  permanent (dead-lettered); Detail is the ACK
//	MSA-2 not the sent MSH-10     retried, whatever MSA-1 says
//	no reply, timeout, not an ACK retried
//	connection or TLS failure     retried (the client reconnects with backoff)
//
// Delivery is at least once: after a timeout the peer may have processed the
// message and the retry sends it again with the same MSH-10, which HL7
// receivers are expected to recognise as a duplicate.
package mllp

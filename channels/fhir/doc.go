// Package fhir is the FHIR R4 REST destination: it writes the Bundles that
// the transforms build to a FHIR server. It registers itself as the kind
// `fhir`; a blank import in cmd/plexus is all the engine needs.
//
// # Settings
//
// The smallest destination names the server; the Bundle is POSTed to the
// base URL as a transaction:
//
//	destinations:
//	  ehr:
//	    fhir:
//	      base_url: https://ehr.example.org/fhir
//
// All keys, with their defaults:
//
//	ehr:
//	  fhir:
//	    base_url: https://ehr.example.org/fhir   # required, http or https
//	    mode: transaction        # transaction | batch | resources
//	    timeout: 30s             # per HTTP exchange, token requests included
//	    headers: {}              # static headers; a value "${VAR}" comes from the environment
//	    idempotency_header: Idempotency-Key   # "" to send none
//	    tls: { ca: ca.pem, cert: client.pem, key: client-key.pem, server_name: "", insecure_skip_verify: false }
//	    auth: { type: none }     # none | bearer | basic | client_credentials | smart_backend
//
// Credentials are never written in routes.yaml: each secret is ${ENV_VAR}
// or its *_file sibling (a literal works, with a warning):
//
//	auth: { type: bearer, token: "${EHR_TOKEN}" }          # or token_file: /run/secrets/ehr-token
//	auth: { type: basic, username: plexus, password_file: /run/secrets/ehr-pw }
//	auth:
//	  type: client_credentials
//	  token_url: https://login.example.org/oauth2/token
//	  client_id: plexus
//	  client_secret: ${EHR_CLIENT_SECRET}                  # or client_secret_file
//	  scope: system/*.write                                # optional
//	auth:
//	  type: smart_backend                                  # SMART Backend Services
//	  token_url: https://ehr.example.org/auth/token
//	  client_id: plexus
//	  scope: system/Patient.write system/Encounter.write  # required
//	  private_key_file: /run/secrets/plexus-key.pem        # RSA (2048+) or EC P-384, PEM
//	  key_id: plexus-2025                                  # kid in the JWK Set the server knows
//	  alg: RS384                                           # RS384 | ES384; default from the key
//	  jku: https://plexus.example.org/.well-known/jwks.json  # optional
//
// A token file is read again when the server answers 401, so a sidecar can
// rotate it. OAuth tokens (client_credentials, smart_backend) are shared by
// all deliveries and fetched again 30 s before they expire (half their life
// if shorter) or when the server answers 401; for smart_backend every token
// request carries a new client assertion: a JWT signed with the private key,
// iss = sub = client_id, aud = token_url, exp 4 minutes on, a random jti.
// The tls block applies to the token endpoint too.
//
// # Modes
//
// transaction (default) POSTs the Bundle to base_url. A Bundle of another
// type (collection, message, batch) is sent with type transaction, and an
// entry without a request gets PUT Type/id (or POST Type when the resource
// has no id). The server applies all entries or none, so its 2xx is the
// answer; the transaction-response's entries are still checked when present.
//
// batch POSTs the Bundle as a batch. Entries succeed one by one, so the
// batch-response must hold one 2xx entry per entry sent. If some failed
// with a status worth retrying (408, 409, 425, 429, 5xx) the delivery is
// retried whole (harmless: conditional updates and deterministic ids);
// otherwise it is permanent, with the batch-response as detail.
//
// resources sends each entry on its own, as its request says (PUT to
// base_url/Patient?identifier=sys|value, POST base_url/Observation, ...),
// for servers that take neither transactions nor batches. References
// between entries (urn:uuid: fullUrls) are resolved by Plexus: to Type/id
// for entries updated by id, and to the id the server reports (Location
// header) for conditional updates and creates. Each entry is sent after the
// entries it references (servers refuse a reference to what they do not
// have yet), otherwise in Bundle order. A reference to a urn no entry has,
// or a cycle through a conditional or created entry, is a permanent error
// found before anything is sent; a cycle among entries updated by id is
// sent in Bundle order. The requests are not atomic: a failure leaves the
// earlier ones applied, and the retry sends them again, which conditional
// updates make harmless (a plain POST is not: give it ifNoneExist).
//
// # Requests
//
// Every request carries Content-Type and Accept application/fhir+json,
// Prefer return=minimal, X-Request-Id with the message's idempotency key
// (sending application, facility, MSH-10) and the idempotency header with
// the same key (in resources mode suffixed #<entry number>, one per
// request). Redirects are not followed. Raw HL7 v2 (a route without a
// transform) is refused as a permanent error.
//
// # Errors
//
//   - 2xx: delivered, subject to the Bundle checks above; a 2xx whose body
//     is not FHIR (a proxy's login page) is retried.
//   - 429 or 503 with Retry-After (seconds or an HTTP date): channels.RetryAfter.
//   - 408, 409, 425, 429, 5xx, network errors, timeouts, token endpoint
//     failures: plain errors, retried with the engine's backoff.
//   - 401: a fresh token is fetched and the request sent once more; a
//     second 401 is permanent like the other 4xx.
//   - 3xx and other 4xx: channels.Permanent, with the server's answer (its
//     OperationOutcome) as Detail.
//
// Error texts name the request (method, resource type, conditional
// parameter names) and the OperationOutcome's issue codes and element
// paths, never identifier values or diagnostics, which can quote patient
// data: errors are logged, and logs carry no PHI. At most 1 MiB of any
// answer is read.
package fhir

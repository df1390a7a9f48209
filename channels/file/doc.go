// Package file is the "file" destination: it writes each message to a file,
// durably, and reports it delivered only once the file and its name are on
// disk.
//
// In routes.yaml:
//
//	destinations:
//	  archive:
//	    file:
//	      dir: ./out                        # required; relative to routes.yaml
//	      name: "{{.Seq}}-{{.ControlID}}"   # text/template over NameData; the default
//	      format: file                      # file (one per message) | ndjson
//	      dir_mode: "0750"                  # directories this destination creates
//	      file_mode: "0640"                 # files it writes
//	  feed:
//	    file: { dir: ./feed, format: ndjson, name: '{{.Time.Format "2006-01-02"}}' }
//
// With format file (the default) every message becomes one file, written to a
// hidden temporary file in the same directory (.plexus-*.tmp), synced,
// renamed to its name and followed by a sync of the directory. A reader never
// sees a partial file, and a crash loses nothing that was reported delivered.
// A name may hold sub-directories ("{{.Route}}/{{.Seq}}.json"); they are
// created as needed.
//
// The file's extension follows the content: .json for a FHIR Bundle, .hl7 for
// a raw v2 message, .ndjson for format ndjson. The template sets its own when
// its text ends in a literal extension ("{{.Seq}}.fhir.json").
//
// Redelivery is idempotent: the name depends only on the message, so a retry
// or a replay of the same message overwrites the same file instead of adding
// a second one (delivery is at least once); .Time is the time the message
// was received, so it too is the same on every attempt.
//
// With format ndjson every FHIR Bundle is compacted to one line and appended
// to the file the name gives (a rolling file: the default name changes every
// day, UTC), which is synced before Deliver returns. An append cannot be
// undone, so a retried or replayed message appears twice; the Bundle's
// deterministic resource ids tell the copies apart. Raw v2 messages cannot be
// written as ndjson.
//
// Values from the message are made safe before they reach the template
// (see NameData): a control id such as ../../etc/passwd becomes
// _._.._etc_passwd, so no message can write outside dir.
package file

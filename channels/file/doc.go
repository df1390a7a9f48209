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
//	      sync: fdatasync                   # fdatasync (the default) | group | file
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
// Deliveries that arrive together share their syncs (group commit; see
// group.go for the stages and why a crash at any point is safe). sync says
// how a group's data is made durable:
//
//   - fdatasync (the default): one fdatasync per file, still one directory
//     sync per group: syncs exactly these files, whatever else writes to the
//     file system (by default Plexus's own journal, in ./data, shares it).
//   - group: one syncfs(2) for the whole group. Fewest syncs,
//     and under load the least CPU, but syncfs flushes everything dirty on
//     the file system, not only these files: on a file system shared with a
//     heavy writer (a database, a build) each group waits for that writer's
//     data too (a compaction of Plexus's own journal, if it shares the file
//     system, is such a writer while it runs). Best when dir has a file
//     system to itself.
//     Linux 5.8 or later; elsewhere, and on older kernels whose syncfs does
//     not report write errors, group means fdatasync.
//   - file: every delivery on its own, fsync of its file and of its
//     directory, as many at once as the engine has workers. For network and
//     FUSE file systems (NFS, SMB, ...), whose sync semantics differ and
//     where concurrent requests hide the round trips.
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
// written as ndjson. Lines that arrive together are appended with one write
// and one fdatasync per file; the sync setting does not apply.
//
// Values from the message are made safe before they reach the template
// (see NameData): a control id such as ../../etc/passwd becomes
// _._.._etc_passwd, so no message can write outside dir.
package file

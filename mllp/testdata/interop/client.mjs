// Sends HL7 files to an MLLP server with @medplum/hl7's Hl7Client and prints
// one JSON line per file: the control id sent and the ACK received.
//
//   node client.mjs --host 127.0.0.1 --port 2575 [--encoding latin1] [--timeout-ms 10000] FILE...
//
// Files are read as latin1 and sent with the latin1 encoding by default, so
// the bytes on the wire are the file's bytes (medplum rejoins segments with
// CR). Exit status: 0 when every file got an ACK, 1 otherwise.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Hl7Client, Hl7Message, errorText, field, parseArgs, watchdog } from './common.mjs';

const opts = parseArgs(process.argv.slice(2), {
  host: '127.0.0.1',
  port: '2575',
  encoding: 'latin1',
  'timeout-ms': '10000',
  lifetime: '120',
});
watchdog(Number(opts.lifetime));

const client = new Hl7Client({
  host: opts.host,
  port: Number(opts.port),
  encoding: opts.encoding,
  connectTimeout: 5000,
});
client.addEventListener('error', (e) => console.error(`interop: client error: ${errorText(e.error)}`));

let failed = 0;
for (const file of opts._) {
  const out = { file: basename(file) };
  try {
    const msg = Hl7Message.parse(readFileSync(file, opts.encoding));
    out.controlId = field(msg, 'MSH', 10);
    const ack = await client.sendAndWait(msg, { timeoutMs: Number(opts['timeout-ms']) });
    out.msa1 = field(ack, 'MSA', 1);
    out.msa2 = field(ack, 'MSA', 2);
    out.ack = ack.toString();
  } catch (err) {
    out.error = errorText(err);
    failed++;
  }
  console.log(JSON.stringify(out));
}
await client.close();
process.exit(failed ? 1 : 0);

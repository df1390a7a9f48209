// Runs @medplum/hl7's Hl7Server and answers every message with the ACK that
// medplum builds (Hl7Message.buildAck: AA, MSA-2 = the message's MSH-10).
//
//   node server.mjs [--port 0] [--encoding latin1] [--lifetime 120]
//
// Prints {"port": N} on stdout once listening, then {"received": MSH-10} for
// each message. Exits when stdin closes (so it dies with the test that
// started it), on SIGTERM, or after --lifetime seconds.
import { Hl7Server, errorText, field, parseArgs, watchdog } from './common.mjs';

const opts = parseArgs(process.argv.slice(2), { port: '0', encoding: 'latin1', lifetime: '120' });
watchdog(Number(opts.lifetime));

const server = new Hl7Server((connection) => {
  connection.addEventListener('message', ({ message }) => {
    console.log(JSON.stringify({ received: field(message, 'MSH', 10) }));
    connection.send(message.buildAck());
  });
  connection.addEventListener('error', (e) => console.error(`interop: connection error: ${errorText(e.error)}`));
});
await server.start(Number(opts.port), opts.encoding);
console.log(JSON.stringify({ port: server.server.address().port }));

async function stop() {
  await server.stop({ forceDrainTimeoutMs: 1000 }).catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();

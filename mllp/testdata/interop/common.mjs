// Shared setup for the interop scripts.
//
// @medplum/core expects a global WebSocket, which Node only has from v22 on;
// an inert stand-in is enough since MLLP never uses it. It must be in place
// before @medplum/* is imported, hence the dynamic imports below.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = class WebSocket {};
}

export const { Hl7Client, Hl7Server } = await import('@medplum/hl7');
export const { Hl7Message } = await import('@medplum/core');

// parseArgs reads --name value pairs; everything else is positional.
export function parseArgs(argv, defaults) {
  const opts = { ...defaults, _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      opts[a.slice(2)] = argv[++i];
    } else {
      opts._.push(a);
    }
  }
  return opts;
}

// watchdog ends the process if the test that started it forgets to.
export function watchdog(seconds) {
  setTimeout(() => {
    console.error(`interop: watchdog: exiting after ${seconds}s`);
    process.exit(3);
  }, seconds * 1000).unref();
}

export function field(msg, segment, index) {
  return msg.getSegment(segment)?.getField(index)?.toString() ?? '';
}

export function errorText(err) {
  if (err?.outcome?.issue) {
    return err.outcome.issue.map((i) => i.details?.text + (i.diagnostics ? `: ${i.diagnostics}` : '')).join('; ');
  }
  return String(err?.message ?? err);
}

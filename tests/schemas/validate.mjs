// validate.mjs - validates JSON files against sfbridge's schemas with ajv
// (JSON Schema draft 2020-12, strict mode, ajv-formats).
//
//   node validate.mjs --schemas DIR [--require-examples] PATH...
//
// Each PATH is a file or a directory (searched recursively for *.json). A
// file's schema is named by its base name up to the first dot
// (command.update_without_id.json -> command.v1.schema.json), and what is
// expected of it by its parent directory: "valid" must pass, "invalid" must
// fail. --require-examples also fails unless every schema has at least one
// valid and one invalid example. Prints one line per file and
// "N passed, N failed"; exits 1 if anything failed, 2 on bad usage.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

function usage(msg) {
  console.error(`validate.mjs: ${msg}`);
  console.error('usage: node validate.mjs --schemas DIR [--require-examples] PATH...');
  process.exit(2);
}

let schemasDir = null;
let requireExamples = false;
const paths = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--schemas') schemasDir = argv[++i];
  else if (argv[i] === '--require-examples') requireExamples = true;
  else if (argv[i].startsWith('--')) usage(`unknown option ${argv[i]}`);
  else paths.push(argv[i]);
}
if (!schemasDir || paths.length === 0) usage('--schemas DIR and at least one PATH are required');

let passed = 0;
let failed = 0;
function pass(name, note) {
  passed++;
  console.log(`PASS ${name}${note ? ` (${note})` : ''}`);
}
function fail(name, why) {
  failed++;
  console.log(`FAIL ${name}: ${why}`);
}

// strict: true turns every ajv strict check into an error (unknown keywords,
// ignored keywords, types missing where a keyword needs one, required
// properties that are not defined, ...), so a schema typo cannot pass silently.
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);

const validators = new Map(); // schema name -> validate function
for (const file of readdirSync(schemasDir).filter((f) => f.endsWith('.schema.json')).sort()) {
  const name = file.split('.')[0];
  try {
    const schema = JSON.parse(readFileSync(join(schemasDir, file), 'utf8'));
    for (const key of ['$schema', '$id', 'title', 'description']) {
      if (typeof schema[key] !== 'string' || schema[key] === '') throw new Error(`has no ${key}`);
    }
    if (schema.$schema !== 'https://json-schema.org/draft/2020-12/schema')
      throw new Error(`$schema is ${schema.$schema}, expected draft 2020-12`);
    if (validators.has(name)) throw new Error(`a second schema named ${name}`);
    validators.set(name, ajv.compile(schema));
    pass(`schema ${file}`, 'compiles in strict mode');
  } catch (e) {
    fail(`schema ${file}`, e.message);
  }
}

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) collect(join(path, entry), out);
  } else if (path.endsWith('.json')) {
    out.push(path);
  }
}
const files = [];
for (const p of paths) {
  try {
    collect(p, files);
  } catch (e) {
    usage(`${p}: ${e.message}`);
  }
}

const seen = new Map(); // schema name -> {valid, invalid}
for (const file of files) {
  const shown = relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file);
  const expect = basename(dirname(file));
  const name = basename(file).split('.')[0];
  if (expect !== 'valid' && expect !== 'invalid') {
    fail(shown, 'not under a valid/ or invalid/ directory');
    continue;
  }
  const validate = validators.get(name);
  if (!validate) {
    fail(shown, `no schema named ${name}`);
    continue;
  }
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    // Examples are about the schema; bytes that are not JSON are the C
    // parser's unit tests' business, so a non-JSON example is a mistake.
    fail(shown, `not JSON: ${e.message}`);
    continue;
  }
  const counts = seen.get(name) ?? { valid: 0, invalid: 0 };
  counts[expect]++;
  seen.set(name, counts);
  const ok = validate(doc);
  const firstError = ok ? '' : `${validate.errors[0].instancePath || '/'} ${validate.errors[0].message}`;
  if (expect === 'valid') {
    if (ok) pass(shown);
    else fail(shown, `expected valid: ${ajv.errorsText(validate.errors)}`);
  } else if (!ok) {
    pass(shown, firstError);
  } else {
    fail(shown, 'expected invalid, but the schema accepts it');
  }
}

if (requireExamples) {
  for (const name of validators.keys()) {
    const c = seen.get(name) ?? { valid: 0, invalid: 0 };
    if (c.valid === 0 || c.invalid === 0)
      fail(`examples of ${name}`, `${c.valid} valid and ${c.invalid} invalid; need at least one of each`);
    else pass(`examples of ${name}`, `${c.valid} valid, ${c.invalid} invalid`);
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

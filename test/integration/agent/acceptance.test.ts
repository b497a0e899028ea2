/**
 * Optimizely Agent's own acceptance suite (optimizely/agent, tests/acceptance), ported case by case
 * and run against Crosswalk's local server, in Agent's default run order, on Agent's datafiles
 * served by a loopback CDN, with CMAB predictions from the loopback stand-in. The cases
 * (test/fixtures/agent/acceptance/cases.json) were extracted from Agent's test sources with their
 * expected answers and assertions as Agent states them; nothing in them is Crosswalk's. Every
 * documented response is also validated against Agent's OpenAPI document.
 *
 * Bodies are compared byte for byte: every answer's text must be exactly what Agent's Go encoder
 * writes for its content (test/support/agent-wire.ts: field order, sorted maps, escapes, the final
 * newline), and its content must be Agent's expected one. The only differences allowed are listed
 * below, each with its reason (and in docs/agent-compatibility.md): the human-readable `reasons` of
 * the Go and JavaScript SDKs, and the text/plain form of the batch middleware's own 422.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIBackend } from 'openapi-backend';
import { agentApi } from '../../support/agent-openapi';
import { canonicalReason } from '../../support/agent-reasons';
import {
  ACTIVATION,
  agentBytes,
  BATCH,
  CONFIG,
  DECISION,
  ERROR,
  LOOKUP,
  OVERRIDE,
  type Shape,
  TRACK,
} from '../../support/agent-wire';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

const FIXTURES = resolve(import.meta.dirname, '..', '..', 'fixtures', 'agent', 'acceptance');
const fixture = (name: string) => readFileSync(resolve(FIXTURES, name), 'utf8');

const SDK_KEY = 'KZbunNn9bVfBWLpZPq2XC4';
const SECOND_SDK_KEY = 'TkB2xhu8WEAHa4LphN3xZ2';
/** The SDK key Agent's holdout tests use (the project of tests/acceptance/holdouts_datafile.py). */
const HOLDOUTS_SDK_KEY = 'DU8sE5a6Wh6BD14sV8zAe';

type Json = Record<string, unknown>;
type Query = Record<string, string | string[]>;

interface Step {
  method: 'GET' | 'POST';
  path: string;
  query: Query;
  headers: Record<string, string>;
  body: unknown;
  body_raw?: string;
}

/** One of Agent's assertions on an answer, in data (cases.json `checks`). */
type Check =
  | { path: string; equals: unknown }
  | { path: string; not_equals: unknown }
  | { path: string; in: unknown[] }
  | { path: string; contains: string }
  | { path: string; lower_contains: string }
  | { path: string; present: true }
  | { path: string; is_list: true }
  | { path: string; same_as_step: number }
  | { is_list: true }
  | { min_length: number }
  | { when: Check; then: Check[] }
  | { each: Check[] }
  | { find: Check; optional?: boolean; then: Check[] };

interface Expected {
  status: number | null;
  checks?: Check[];
  status_asserted?: boolean | string;
  body?: unknown;
  body_text?: string;
  body_asserted?: boolean;
  /** The expected body is a fixture file (the datafile). */
  body_file?: string;
  body_base_excluding_cmab?: Json[];
  operation_1_body?: Json;
  operation_2_body?: Json;
  assertions: string[];
}

interface Case {
  seq: number;
  test: string;
  area: string;
  in_default_run: boolean;
  multi_step: boolean;
  request: Step | Step[];
  expected: Expected | Expected[];
}

const cases = JSON.parse(fixture('cases.json')) as Case[];

/**
 * Cases Agent's own CI leaves out (`-k "not …_no_ups"`): they are stale (they name rules the
 * datafile no longer has), so no implementation could pass them.
 */
const runnable = cases.filter((c) => c.in_default_run);

// ---------------------------------------------------------------------------------------------
// Normalisations, each with its reason. Applied to both sides before comparing.
// ---------------------------------------------------------------------------------------------

type RuleNames = Map<string, string[]>;

function normaliseDecision(decision: unknown, rules: RuleNames): unknown {
  if (!decision || typeof decision !== 'object' || !('reasons' in decision)) return decision;
  const d = decision as Json & { reasons: string[]; flagKey: string };
  return {
    ...d,
    reasons: d.reasons
      .map((r) => canonicalReason(r, rules.get(d.flagKey) ?? []))
      .filter((r): r is string => r !== null),
  };
}

const isCmab = (item: Json) =>
  item.experimentKey === 'cmab-rule_1' || item.featureKey === 'cmab_flag' || item.flagKey === 'cmab_flag';

/**
 * Agent's assertions on the CMAB items of answers that list every experiment or flag (the CMAB
 * variation comes from the prediction service, so Agent's tests name its possible values only).
 */
const CMAB_ITEMS: { matches: (item: Json) => boolean; expected: Json; variations: string[] }[] = [
  {
    matches: (item) => item.type === 'experiment' && item.experimentKey === 'cmab-rule_1',
    expected: { featureKey: '', type: 'experiment' },
    variations: ['on', 'off'],
  },
  {
    matches: (item) => item.type === 'feature' && item.featureKey === 'cmab_flag',
    expected: { experimentKey: 'cmab-rule_1', type: 'feature' },
    variations: ['on', 'off'],
  },
  {
    // Decide-all with ENABLED_FLAGS_ONLY: present only when enabled.
    matches: (item) => item.flagKey === 'cmab_flag',
    expected: { ruleKey: 'cmab-rule_1', enabled: true },
    variations: ['on', 'off'],
  },
];

/** JSON with object keys in sorted order: the same text for the same content. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Json).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** Agent's answers come in Go map order; the tests sort them. Sorting both by content does the same. */
function sorted(items: unknown[]): unknown[] {
  return [...items].sort((a, b) => canonicalJson(a).localeCompare(canonicalJson(b)));
}

// ---------------------------------------------------------------------------------------------

let table: TestTable;
let cdn: TestOptimizely;
let app: TestApp;
let api: OpenAPIBackend;
let deliveryRules: RuleNames;
const validated: Record<string, number> = {};
/** Answers whose bytes were checked against Agent's encoder, and decisions whose reasons Go words differently. */
let checkedBytes = 0;
let reasonsReworded = 0;

beforeAll(async () => {
  const datafile = fixture(`datafile_${SDK_KEY}.json`);
  [table, cdn, api] = await Promise.all([
    createTestTable('agent-acceptance'),
    startTestOptimizely(
      new Map([
        [SDK_KEY, datafile],
        // Reconstructed from Agent's expected config (Agent's repository does not ship it).
        [SECOND_SDK_KEY, fixture(`datafile_${SECOND_SDK_KEY}.reconstructed.json`)],
        [HOLDOUTS_SDK_KEY, fixture(`datafile_${HOLDOUTS_SDK_KEY}.json`)],
      ]),
    ),
    agentApi(),
  ]);
  // Agent's run: no authentication, overrides on, an in-memory user profile service, batches of 3.
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    OPTIMIZELY_SDK_KEYS: '*',
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: cdn.datafileUrlTemplate,
    OPTIMIZELY_EVENT_ENDPOINT: cdn.eventEndpoint,
    OPTIMIZELY_CMAB_PREDICTION_ENDPOINT: cdn.predictionEndpointTemplate,
    ENABLE_OVERRIDES: 'true',
    OVERRIDE_CACHE_TTL_MS: '0',
    USER_PROFILE_SERVICE: 'dynamodb',
    BATCH_OPERATIONS_LIMIT: '3',
  });
  const config = JSON.parse(fixture(`config_${SDK_KEY}.json`)) as {
    featuresMap: Record<string, { deliveryRules: { key: string }[] }>;
  };
  deliveryRules = new Map(
    Object.values(config.featuresMap).map((f) => [
      Object.keys(config.featuresMap).find((k) => config.featuresMap[k] === f) ?? '',
      f.deliveryRules.map((r) => r.key),
    ]),
  );
});

afterAll(async () => {
  try {
    // Decision events leave after the answers: let the server finish them before checking.
    await app?.server.idle();
    cdn?.assertNoPersonalData();
  } finally {
    await app?.close();
    await cdn?.close();
    await table?.drop();
  }
});

const OPERATIONS: Record<string, string> = {
  '/v1/activate': 'activate',
  '/v1/batch': 'BatchmultipleAPIendpointsintoonerequest.',
  '/v1/config': 'getConfig',
  '/v1/datafile': 'getDatafile',
  '/v1/decide': 'decide',
  '/v1/lookup': 'lookup',
  '/v1/override': 'override',
  '/v1/save': 'save',
  '/v1/track': 'trackEvent',
};

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/** How Agent's Go structs write the answer of `path` with this status. */
function shapeOf(path: string, status: number, json: unknown): Shape | null {
  if (status >= 400) return ERROR;
  const list = (shape: Shape): Shape => (Array.isArray(json) ? { list: shape } : shape);
  switch (path) {
    case '/v1/decide':
      return list(DECISION);
    case '/v1/activate':
      return { list: ACTIVATION };
    case '/v1/track':
      return TRACK;
    case '/v1/override':
      return OVERRIDE;
    case '/v1/lookup':
      return LOOKUP;
    case '/v1/config':
      return CONFIG;
    case '/v1/batch':
      return BATCH;
    case '/v1/datafile':
      return 'any';
    default:
      return null;
  }
}

async function send(step: Step): Promise<Answer> {
  const url = new URL(step.path, app.url);
  for (const [name, value] of Object.entries(step.query)) {
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, v);
  }
  // Python's requests sends a body with a GET too (test_datafile does; Agent ignores it); fetch cannot.
  const body =
    step.method === 'GET'
      ? undefined
      : (step.body_raw ??
        (step.body === null || step.body === undefined ? undefined : JSON.stringify(step.body)));
  const response = await fetch(url, {
    method: step.method,
    headers: step.headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  const operationId = OPERATIONS[step.path];
  const documented = operationId && api.getOperation(operationId)?.responses?.[String(response.status)];
  if (operationId && documented && text !== '') {
    const result = api.validateResponse(json, operationId, response.status);
    expect({ operationId, status: response.status, errors: result.errors ?? [] }).toEqual({
      operationId,
      status: response.status,
      errors: [],
    });
    validated[operationId] = (validated[operationId] ?? 0) + 1;
  }
  // Every body is written as Agent's Go encoder writes its content, byte for byte.
  const shape = shapeOf(step.path, response.status, json);
  if (text !== '' && shape !== null) {
    expect({ path: step.path, text }).toEqual({ path: step.path, text: agentBytes(json, shape) });
    checkedBytes++;
  }
  return { status: response.status, text, json };
}

/** The reasons of `ours` when they say what Agent's say in the Go SDK's words (test/support/agent-reasons.ts). */
function withReasonsOf(expected: unknown, ours: unknown): unknown {
  if (!expected || typeof expected !== 'object' || !ours || typeof ours !== 'object') return expected;
  const e = expected as Json;
  const o = ours as Json;
  if (!Array.isArray(e.reasons) || !Array.isArray(o.reasons)) return expected;
  const same =
    JSON.stringify(normaliseDecision(e, deliveryRules)) ===
    JSON.stringify(normaliseDecision({ ...e, reasons: o.reasons }, deliveryRules));
  if (same && JSON.stringify(e.reasons) !== JSON.stringify(o.reasons)) reasonsReworded++;
  return same ? { ...e, reasons: o.reasons } : expected;
}

/** Agent's expected answer in Agent's bytes; arrays (Go map order in Agent) compared in content order. */
function expectAgentBytes(path: string, answer: Answer, expected: unknown): void {
  const shape = shapeOf(path, answer.status, expected);
  if (shape === null) return;
  if (Array.isArray(expected) && Array.isArray(answer.json)) {
    const itemShape = (shape as { list: Shape }).list;
    const ours = sorted(answer.json).map((item) => agentBytes(item, itemShape));
    const theirs = sorted(expected)
      .map((item, i) => withReasonsOf(item, sorted(answer.json as unknown[])[i]))
      .map((item) => agentBytes(item, itemShape));
    expect(ours).toEqual(theirs);
    return;
  }
  expect(answer.text).toBe(agentBytes(withReasonsOf(expected, answer.json), shape));
}

function valueAt(body: unknown, path: string): { found: boolean; value: unknown } {
  let value: unknown = body;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(part in (value as Json)))
      return { found: false, value: undefined };
    value = (value as Json)[part];
  }
  return { found: true, value };
}

/** Whether `check` holds on `body`; `answers` are the earlier steps' answers of a multi-step case. */
function holds(check: Check, body: unknown, answers: Answer[]): boolean {
  if ('when' in check)
    return !holds(check.when, body, answers) || check.then.every((c) => holds(c, body, answers));
  if ('each' in check)
    return Array.isArray(body) && body.every((item) => check.each.every((c) => holds(c, item, answers)));
  if ('find' in check) {
    const item = Array.isArray(body) ? body.find((i) => holds(check.find, i, answers)) : undefined;
    if (item === undefined) return check.optional === true;
    return check.then.every((c) => holds(c, item, answers));
  }
  if ('min_length' in check) return Array.isArray(body) && body.length >= check.min_length;
  if (!('path' in check)) return Array.isArray(body);
  const { found, value } = valueAt(body, check.path);
  if ('present' in check) return found;
  if ('is_list' in check) return Array.isArray(value);
  if ('equals' in check) return found && value === check.equals;
  if ('not_equals' in check) return value !== check.not_equals;
  if ('in' in check) return check.in.includes(value);
  if ('contains' in check) return typeof value === 'string' && value.includes(check.contains);
  if ('lower_contains' in check)
    return typeof value === 'string' && value.toLowerCase().includes(check.lower_contains);
  return (
    JSON.stringify(value) === JSON.stringify(valueAt(answers[check.same_as_step]?.json, check.path).value)
  );
}

function check(kase: Case, step: Step, expected: Expected, answer: Answer, answers: Answer[] = []): void {
  const where = `${kase.test}`;
  if (expected.status !== null && expected.status_asserted !== false) {
    if (typeof expected.status_asserted === 'string')
      expect({ where, failed: answer.status >= 400 }).toEqual({ where, failed: true });
    else expect({ where, status: answer.status }).toEqual({ where, status: expected.status });
  }
  for (const c of expected.checks ?? []) {
    expect({ where, check: c, holds: holds(c, answer.json, answers) }).toEqual({
      where,
      check: c,
      holds: true,
    });
  }
  if (expected.body_text !== undefined) {
    if (kase.seq === BATCH_422) {
      // Agent's batch middleware writes this one with http.Error: `{"error": "…"}` with a space, as
      // text/plain. Crosswalk answers it in the JSON error shape of every other error (agentBytes).
      expect(answer.json).toEqual(JSON.parse(expected.body_text));
    } else {
      // Agent's exact bytes, final newline included.
      expect(answer.text).toBe(expected.body_text);
    }
  }
  if (expected.body_asserted === false) return;
  if (expected.body_base_excluding_cmab) {
    const items = answer.json as Json[];
    const base = items.filter((item) => !isCmab(item));
    expect(sorted(base.map((d) => normaliseDecision(d, deliveryRules)))).toEqual(
      sorted(expected.body_base_excluding_cmab.map((d) => normaliseDecision(d, deliveryRules))),
    );
    expectAgentBytes(step.path, { ...answer, json: base }, expected.body_base_excluding_cmab);
    // The CMAB items, as Agent's tests check them: a variation the prediction service gave.
    const cmabItems = items.filter(isCmab);
    for (const item of cmabItems) {
      const rule = CMAB_ITEMS.find((r) => r.matches(item));
      expect({ item, known: rule !== undefined }).toEqual({ item, known: true });
      expect(item).toMatchObject(rule!.expected);
      expect(rule!.variations).toContain(item.variationKey);
    }
    // Activate lists every experiment and flag asked for: the CMAB experiment and flag are there.
    if (step.path === '/v1/activate') {
      const asked = [
        step.query.type ?? [],
        step.query.experimentKey ?? [],
        step.query.featureKey ?? [],
      ].flat();
      const expectedCmab =
        (asked.includes('experiment') || asked.includes('cmab-rule_1') ? 1 : 0) +
        (asked.includes('feature') || asked.includes('cmab_flag') ? 1 : 0);
      expect(cmabItems).toHaveLength(expectedCmab);
    }
    return;
  }
  if (expected.body_file !== undefined) {
    // Agent re-reads the datafile into a Go map and writes it back: keys sorted, compact, a newline.
    expect(answer.text).toBe(agentBytes(JSON.parse(fixture(`datafile_${SDK_KEY}.json`)), 'any'));
    return;
  }
  if (expected.body !== undefined && expected.body !== null) {
    const norm = (body: unknown) =>
      Array.isArray(body)
        ? sorted(body.map((d) => normaliseDecision(d, deliveryRules)))
        : normaliseDecision(body, deliveryRules);
    expect(norm(answer.json)).toEqual(norm(expected.body));
    expectAgentBytes(step.path, answer, expected.body);
  }
}

/** Agent's batch middleware writes its 422 with Go's http.Error (`{"error": "…"}` with a space): compared as JSON. */
const BATCH_422 = 28;

describe("Optimizely Agent's acceptance suite, in Agent's run order", () => {
  it('has the cases Agent runs: activate, batch, CMAB, config, datafile, decide, holdouts, override, track, UPS', () => {
    expect(runnable).toHaveLength(73);
    expect(new Set(runnable.map((c) => c.area))).toEqual(
      new Set([
        'activate',
        'batch',
        'cmab',
        'config',
        'datafile',
        'decide',
        'holdouts',
        'override',
        'track',
        'save',
      ]),
    );
  });

  for (const kase of runnable) {
    it(`${kase.seq} ${kase.test}`, async () => {
      if (!kase.multi_step) {
        const step = kase.request as Step;
        const expected = kase.expected as Expected;
        const answer = await send(step);
        check(kase, step, expected, answer);
        if (step.path === '/v1/batch') checkBatch(kase, expected, answer);
        return;
      }
      const steps = kase.request as Step[];
      const expectations = kase.expected as Expected[];
      const answers: Answer[] = [];
      for (const [index, step] of steps.entries()) {
        const expected = expectations[index] as Expected;
        let request = step;
        if (kase.test === 'test_activate_with_config' && index === 1) {
          // Step 2 activates every experiment and flag the config of step 1 lists.
          const config = answers[0]?.json as { featuresMap: Json; experimentsMap: Json };
          request = {
            ...step,
            query: {
              featureKey: Object.keys(config.featuresMap),
              experimentKey: Object.keys(config.experimentsMap),
            },
          };
        }
        const answer = await send(request);
        check(kase, request, expected, answer, answers);
        answers.push(answer);
      }
      if (kase.test === 'test_overrides') {
        const first = answers.map((a) =>
          Array.isArray(a.json) ? (a.json[0] as Json)?.variationKey : undefined,
        );
        // Sticky variation_1, then the override wins, then (after removal) variation_1 again.
        expect([first[0], first[2], first[5]]).toEqual(['variation_1', 'variation_2', 'variation_1']);
      }
    });
  }

  it('validated answers of every Agent operation against its OpenAPI document', () => {
    expect(Object.keys(validated).sort()).toEqual(
      [
        'BatchmultipleAPIendpointsintoonerequest.',
        'activate',
        'decide',
        'getConfig',
        'getDatafile',
        'lookup',
        'override',
        'trackEvent',
      ].sort(),
    );
  });

  it("checked every body's bytes against Agent's encoder, and reworded reasons only where the SDKs word them differently", () => {
    // Every answer with a body (Agent's save answers none): the bytes are Agent's.
    const steps = runnable.flatMap((c) => (Array.isArray(c.request) ? c.request : [c.request]));
    expect(checkedBytes).toBe(steps.filter((step) => step.path !== '/v1/save').length);
    // The Go and JavaScript SDKs word some reasons differently (test/support/agent-reasons.ts).
    expect(reasonsReworded).toBeGreaterThan(0);
  });

  it('asked the prediction service for CMAB flags only, and sent nothing personal to Optimizely', () => {
    const predictions = cdn.optimizely.predictions;
    expect(predictions.length).toBeGreaterThan(0);
    expect(new Set(predictions.map((p) => p.ruleId))).toEqual(new Set(['9300002877087']));
    for (const p of predictions) {
      // Only the rule's CMAB attribute (attr_1, by id), never extra_attr or anything undeclared.
      expect(p.instances[0]?.attributes.map((a) => a.id)).toEqual(['16921322086']);
    }
  });
});

function checkBatch(kase: Case, expected: Expected, answer: Answer): void {
  if (answer.status !== 200) return;
  const body = answer.json as { errorCount: number; response: Json[]; startedAt: string; endedAt: string };
  const byId = new Map(body.response.map((item) => [String(item.operationID), item]));
  const ops = ((kase.request as Step).body as { operations: Json[] }).operations;
  expect(body.response).toHaveLength(ops.length);
  for (const op of ops) {
    const item = byId.get(String(op.operationID));
    expect(item).toMatchObject({ method: op.method, url: op.url });
    const requestId = (op.headers as Record<string, string>)['X-Request-Id'];
    if (requestId) expect(item?.requestID).toBe(requestId);
  }
  expect(Number.isNaN(Date.parse(body.startedAt))).toBe(false);
  if (expected.operation_1_body) {
    expect(body.errorCount).toBe(1);
    expect(byId.get('1')).toMatchObject({ status: 400, body: expected.operation_1_body });
  }
  if (expected.operation_2_body) {
    expect(body.errorCount).toBe(0);
    expect(byId.get('2')?.body).toEqual(expected.operation_2_body);
    // Operation 3 activates user1 (no attributes) for every flag: only experiment keys named.
    expect(byId.get('3')?.status).toBe(200);
  }
  if (kase.test === 'test_batch_valid_reponse') {
    expect(body.errorCount).toBe(0);
    expect(byId.get('1')?.body).toHaveProperty('experimentsMap.ab_test1');
  }
}

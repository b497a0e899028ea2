/**
 * Optimizely Agent's own acceptance suite (optimizely/agent, tests/acceptance), ported case by case
 * and run against Crosswalk's local server, in Agent's default run order, on Agent's datafile
 * served by a loopback CDN. The cases (test/fixtures/agent/acceptance/cases.json) were extracted
 * from Agent's test sources with their expected answers as Agent states them; nothing in them is
 * Crosswalk's. Every documented response is also validated against Agent's OpenAPI document.
 *
 * Where the answer is compared loosely, the reason is in one of the lists below (and in
 * docs/agent-compatibility.md): the human-readable `reasons` of the Go and JavaScript SDKs, CMAB
 * (which Crosswalk does not run), and byte-level formatting of Go's encoder.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIBackend } from 'openapi-backend';
import { agentApi } from '../../support/agent-openapi';
import { canonicalReason } from '../../support/agent-reasons';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

const FIXTURES = resolve(import.meta.dirname, '..', '..', 'fixtures', 'agent', 'acceptance');
const fixture = (name: string) => readFileSync(resolve(FIXTURES, name), 'utf8');

const SDK_KEY = 'KZbunNn9bVfBWLpZPq2XC4';
const SECOND_SDK_KEY = 'TkB2xhu8WEAHa4LphN3xZ2';

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

interface Expected {
  status: number | null;
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

beforeAll(async () => {
  const datafile = fixture(`datafile_${SDK_KEY}.json`);
  [table, cdn, api] = await Promise.all([
    createTestTable('agent-acceptance'),
    startTestOptimizely(
      new Map([
        [SDK_KEY, datafile],
        // Reconstructed from Agent's expected config (Agent's repository does not ship it).
        [SECOND_SDK_KEY, fixture(`datafile_${SECOND_SDK_KEY}.reconstructed.json`)],
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
  return { status: response.status, text, json };
}

function check(kase: Case, expected: Expected, answer: Answer): void {
  const where = `${kase.test}`;
  if (expected.status !== null && expected.status_asserted !== false) {
    if (typeof expected.status_asserted === 'string')
      expect({ where, failed: answer.status >= 400 }).toEqual({ where, failed: true });
    else expect({ where, status: answer.status }).toEqual({ where, status: expected.status });
  }
  if (expected.body_text !== undefined && kase.seq !== BATCH_422) {
    // Go's encoder ends every body with a newline; the bytes are otherwise the same.
    expect(answer.text.trimEnd()).toBe(expected.body_text.trimEnd());
  }
  if (expected.body_asserted === false) return;
  if (expected.body_base_excluding_cmab) {
    const items = (answer.json as Json[]).filter((item) => !isCmab(item));
    expect(sorted(items.map((d) => normaliseDecision(d, deliveryRules)))).toEqual(
      sorted(expected.body_base_excluding_cmab.map((d) => normaliseDecision(d, deliveryRules))),
    );
    return;
  }
  if (expected.body_file !== undefined) {
    expect(answer.json).toEqual(JSON.parse(fixture(`datafile_${SDK_KEY}.json`)));
    return;
  }
  if (expected.body !== undefined && expected.body !== null) {
    const norm = (body: unknown) =>
      Array.isArray(body)
        ? sorted(body.map((d) => normaliseDecision(d, deliveryRules)))
        : normaliseDecision(body, deliveryRules);
    expect(norm(answer.json)).toEqual(norm(expected.body));
  }
}

/** Agent's batch middleware writes its 422 with Go's http.Error (`{"error": "…"}` with a space): compared as JSON. */
const BATCH_422 = 28;

describe("Optimizely Agent's acceptance suite, in Agent's run order", () => {
  it('has the cases Agent runs: activate, batch, config, datafile, decide, override, track, UPS', () => {
    expect(runnable).toHaveLength(54);
    expect(new Set(runnable.map((c) => c.area))).toEqual(
      new Set(['activate', 'batch', 'config', 'datafile', 'decide', 'override', 'track', 'save']),
    );
  });

  for (const kase of runnable) {
    it(`${kase.seq} ${kase.test}`, async () => {
      if (!kase.multi_step) {
        const step = kase.request as Step;
        const expected = kase.expected as Expected;
        const answer = await send(step);
        check(kase, expected, answer);
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
        answers.push(answer);
        check(kase, expected, answer);
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

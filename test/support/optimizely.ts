/**
 * The loopback Optimizely (scripts/local/local-optimizely.ts) as tests use it, with a guard on every
 * event batch and CMAB prediction request it receives: no email, no phone number, no value of a
 * personal identifier may reach Optimizely, in visitor ids, attributes or the bucketing id. Each
 * test file asserts the guard found nothing after its tests ran.
 */
import { expect } from '@jest/globals';
import {
  type EventBatch,
  type LocalOptimizelyServer,
  type PredictionRequest,
  startLocalOptimizely,
} from '../../scripts/local/local-optimizely';

const EMAIL = /[^\s@"<>]+@[^\s@"<>]+\.[a-z]{2,}/i;
/** A phone number: 8 or more digits, optionally with +, spaces, dots, dashes or parentheses. */
const PHONE = /^\+?[\d\s().-]{8,}$/;

/** What in this batch looks personal, or is one of `known` personal values. */
export function personalDataIn(batch: EventBatch, known: readonly string[] = []): string[] {
  const found: string[] = [];
  const check = (where: string, value: unknown) => {
    if (typeof value !== 'string') return;
    const digits = value.replace(/\D/g, '');
    if (EMAIL.test(value) || (PHONE.test(value) && digits.length >= 8) || known.includes(value)) {
      found.push(`${where}: ${value}`);
    }
  };
  for (const visitor of batch.visitors ?? []) {
    check('visitor_id', visitor.visitor_id);
    for (const attribute of visitor.attributes ?? []) check(`attribute ${attribute.key}`, attribute.value);
  }
  return found;
}

/** What in this prediction request looks personal, or is one of `known` personal values. */
export function personalDataInPrediction(
  request: PredictionRequest,
  known: readonly string[] = [],
): string[] {
  return personalDataIn(
    {
      visitors: (request.instances ?? []).map((instance) => ({
        visitor_id: instance.visitorId,
        attributes: (instance.attributes ?? []).map((a) => ({ key: a.id, value: a.value })),
        snapshots: [],
      })),
    },
    known,
  ).map((finding) => `prediction ${request.ruleId}: ${finding}`);
}

export interface TestOptimizely extends LocalOptimizelyServer {
  /** Adds values that must never be sent (the test's emails, phone numbers…). */
  personal(...values: string[]): void;
  /** Asserts that no batch received so far carried personal data. */
  assertNoPersonalData(): void;
}

export async function startTestOptimizely(
  datafiles?: Map<string, string>,
  options: { onBatch?: (batch: EventBatch) => void } = {},
): Promise<TestOptimizely> {
  const known: string[] = [];
  const violations: string[] = [];
  const server = await startLocalOptimizely({
    ...(datafiles ? { datafiles } : {}),
    onBatch: (batch) => {
      violations.push(...personalDataIn(batch, known));
      options.onBatch?.(batch);
    },
    onPrediction: (request) => violations.push(...personalDataInPrediction(request, known)),
  });
  return Object.assign(server, {
    personal: (...values: string[]) => known.push(...values),
    assertNoPersonalData: () => expect(violations).toEqual([]),
  });
}

/** Segment fixtures and generators shared by the unit and integration tests. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { applyChange, emptyEffects, emptyGraph, type GraphState } from '../../src/identity/graph';
import { profileSnapshot } from '../../src/identity/profile';
import type { IdentityRules } from '../../src/identity/rules';
import { toIdentityChange } from '../../src/segment/identity-change';
import { parseSegmentEvent } from '../../src/segment/spec';

const fixtureDir = resolve(import.meta.dirname, '..', 'fixtures', 'segment');

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(fixtureDir, `${name}.json`), 'utf8')) as Record<string, unknown>;
}

export const CALL_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;

/** A profile as compared across runs: everything but storage ids and versions. */
export interface ComparableProfile {
  /** `type:value` of the identifier the experiment id comes from. */
  anchor: string;
  identifiers: string[];
  traits: Record<string, unknown>;
  audiences: string[];
  accountIds: string[];
  primaryAccountId: string | null;
}

export function comparable(
  snapshot: {
    anchor?: { type: string; value: string } | undefined;
    identifiers: { type: string; value: string }[];
    traits: Record<string, unknown>;
    audiences: string[];
    accountIds: string[];
    primaryAccountId: string | null;
  },
  strip = '',
): ComparableProfile {
  const s = (v: string) => (strip && v.startsWith(strip) ? v.slice(strip.length) : v);
  return {
    anchor: snapshot.anchor ? `${snapshot.anchor.type}:${s(snapshot.anchor.value)}` : '',
    identifiers: snapshot.identifiers.map((i) => `${i.type}:${s(i.value)}`).sort(),
    traits: snapshot.traits,
    audiences: [...snapshot.audiences].sort(),
    accountIds: snapshot.accountIds.map(s).sort(),
    primaryAccountId: snapshot.primaryAccountId === null ? null : s(snapshot.primaryAccountId),
  };
}

export function sortProfiles(profiles: ComparableProfile[]): ComparableProfile[] {
  return [...profiles].sort((a, b) => (a.identifiers[0]! < b.identifiers[0]! ? -1 : 1));
}

/** Applies Segment events in memory with the pure rules: the reference result. */
export function applyInMemory(rules: IdentityRules, events: readonly unknown[]): GraphState {
  const graph = emptyGraph();
  const effects = emptyEffects();
  let n = 0;
  for (const input of events) {
    const parsed = parseSegmentEvent(input);
    if (!parsed.ok) throw new Error(parsed.reason);
    applyChange(rules, graph, effects, toIdentityChange(parsed.event), () => `p${n++}`);
  }
  return graph;
}

export function graphProfiles(rules: IdentityRules, graph: GraphState, strip = ''): ComparableProfile[] {
  return sortProfiles(
    [...graph.profiles.values()].map((p) => comparable(profileSnapshot(rules, p, 0), strip)),
  );
}

/**
 * Random event streams over a few people whose identifiers are never shared between them, so
 * limits never bind and the graph (connected components, LWW traits) is order-independent.
 */
export interface StreamEvent {
  person: number;
  kind: 'identify' | 'track' | 'page' | 'group' | 'audience' | 'alias';
  useUser: boolean;
  anon: number | null;
  email: boolean;
  device: boolean;
  second: number;
  plan: string;
  account: number;
  member: boolean;
}

export const streamEventArb: fc.Arbitrary<StreamEvent> = fc
  .record({
    person: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom('identify', 'track', 'page', 'group', 'audience', 'alias'),
    useUser: fc.boolean(),
    anon: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
    email: fc.boolean(),
    device: fc.boolean(),
    second: fc.integer({ min: 0, max: 30 }),
    plan: fc.constantFrom('free', 'pro', 'team'),
    account: fc.integer({ min: 0, max: 1 }),
    member: fc.boolean(),
  })
  // Every event names someone; an alias names the user and the anonymous id it replaces.
  .map((e) => (e.kind === 'alias' ? { ...e, useUser: true, anon: e.anon ?? 0 } : e))
  .map((e) => (e.useUser || e.anon !== null ? e : { ...e, anon: 0 }));

export function streamToSegment(
  events: readonly StreamEvent[],
  prefix = '',
  messagePrefix = 'm',
): Record<string, unknown>[] {
  return events.map((e, i) => {
    const p = `${prefix}p${e.person}`;
    const timestamp = new Date(Date.UTC(2026, 10, 1, 12, 0, e.second)).toISOString();
    const out: Record<string, unknown> = {
      type: e.kind === 'audience' ? 'identify' : e.kind,
      messageId: `${prefix}${messagePrefix}${i}`,
      timestamp,
    };
    if (e.useUser) out.userId = `${p}-user`;
    if (e.anon !== null) out.anonymousId = `${p}-anon${e.anon}`;
    const context: Record<string, unknown> = {};
    if (e.device) context.device = { id: `${p}-device`, type: 'ios' };
    const email = `${p}@example.com`;
    switch (e.kind) {
      case 'identify':
        out.traits = { plan: e.plan, ...(e.email ? { email } : {}) };
        break;
      case 'track':
        out.event = 'Product Viewed';
        out.properties = { sku: 'x' };
        context.traits = { plan: e.plan, ...(e.email ? { email } : {}) };
        break;
      case 'page':
        out.name = 'Pricing';
        if (e.email) context.traits = { email };
        break;
      case 'group':
        out.groupId = `${prefix}acct${e.account}`;
        out.traits = { tier: e.plan };
        if (e.email) context.traits = { email };
        break;
      case 'audience':
        out.traits = { vip: e.member, ...(e.email ? { email } : {}) };
        context.personas = { computation_class: 'audience', computation_key: 'vip' };
        break;
      case 'alias':
        // Segment's alias: the previous id is the anonymous id the user had before identifying.
        delete out.anonymousId;
        out.previousId = `${p}-anon${e.anon}`;
        break;
    }
    out.context = context;
    return out;
  });
}

/**
 * Translates a validated Segment event into an identity change: which identifiers it carries
 * (Segment Unify's default extraction), which user traits and account traits it sets, and what
 * Engage (audiences, computed traits) says through it.
 */

import type { IdentityChange } from '../identity/graph';
import { type Identifier, normalizeEmail, normalizeIdentifier } from '../identity/identifiers';
import type { TraitValue } from '../identity/model';
import { dict, own } from '../platform/core/dict';
import type { SegmentContext, SegmentEvent } from './spec';

function isTraitValue(value: unknown): value is TraitValue {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value);
}

/**
 * Scalar traits only: Optimizely attributes are scalars, and nested objects (address, …) would
 * bloat every identifier item. Nested values are skipped, not flattened.
 */
export function scalarTraits(source: Record<string, unknown> | null | undefined): Record<string, TraitValue> {
  const traits = dict<TraitValue>();
  if (!source) return traits;
  for (const [key, value] of Object.entries(source)) {
    if (key === '' || !isTraitValue(value)) continue;
    traits[key] = value;
  }
  return traits;
}

function emailFrom(traits: Record<string, unknown> | null | undefined): string | undefined {
  const email = traits?.email;
  return typeof email === 'string' && email.trim() !== '' ? normalizeEmail(email) : undefined;
}

function deviceIdentifiers(context: SegmentContext | null | undefined): Identifier[] {
  const device = context?.device;
  if (!device) return [];
  const platform = device.type?.toLowerCase();
  if (platform !== 'ios' && platform !== 'android') return [];
  const out: Identifier[] = [];
  if (device.id) out.push({ type: `${platform}.id`, value: device.id });
  // Advertising ids only when the user allowed tracking, as Segment does.
  if (device.advertisingId && device.adTrackingEnabled === true) {
    out.push({ type: `${platform}.idfa`, value: device.advertisingId });
  }
  return out;
}

function externalIdentifiers(context: SegmentContext | null | undefined): Identifier[] {
  const out: Identifier[] = [];
  for (const external of context?.externalIds ?? []) {
    if (!external.id || (external.collection && external.collection !== 'users')) continue;
    const type = external.type.trim().toLowerCase();
    if (type === '' || type === 'group_id') continue;
    out.push(normalizeIdentifier({ type, value: external.id }));
  }
  return out;
}

/** Segment Unify's default identifiers of an event's user. */
export function extractIdentifiers(event: SegmentEvent): Identifier[] {
  const out: Identifier[] = [];
  if (event.userId) out.push({ type: 'user_id', value: event.userId });
  if (event.type === 'delete') return out;
  if (event.anonymousId) out.push({ type: 'anonymous_id', value: event.anonymousId });
  // alias: the previous id is, in practice, the anonymous id the user had before identifying.
  if (event.type === 'alias' && event.previousId) out.push({ type: 'anonymous_id', value: event.previousId });
  const email =
    (event.type === 'identify' ? emailFrom(event.traits) : undefined) ?? emailFrom(event.context?.traits);
  if (email) out.push({ type: 'email', value: email });
  out.push(...deviceIdentifiers(event.context), ...externalIdentifiers(event.context));
  return out;
}

/** Stable fallback de-duplication key for events without a messageId (the classic delete notice). */
function messageIdOf(event: SegmentEvent): string {
  if (event.messageId) return event.messageId;
  return `delete:${event.userId ?? ''}:${event.timestamp ?? ''}`.slice(0, 200);
}

function engageAudiences(event: SegmentEvent, traits: Record<string, TraitValue>): Record<string, boolean> {
  const audiences = dict<boolean>();
  const personas = event.context?.personas;
  if (event.type === 'identify' && personas?.computation_class === 'audience') {
    const key = personas.computation_key;
    // The audience flag arrives as a boolean trait named after the audience key.
    for (const [name, value] of Object.entries(traits)) {
      if (typeof value === 'boolean' && (!key || key === name)) audiences[name] = value;
    }
  }
  if (event.type === 'track' && (event.event === 'Audience Entered' || event.event === 'Audience Exited')) {
    const key = event.properties?.audience_key;
    if (typeof key === 'string' && key !== '') audiences[key] = event.event === 'Audience Entered';
  }
  return audiences;
}

/** Translates one validated Segment event into the change identity resolution applies. */
export function toIdentityChange(event: SegmentEvent, receivedAt: number = Date.now()): IdentityChange {
  const at = event.timestamp ? Date.parse(event.timestamp) : receivedAt;
  const base = { messageId: messageIdOf(event), at, identifiers: extractIdentifiers(event) };
  if (event.type === 'delete') return { ...base, kind: 'delete', traits: dict(), audiences: dict() };

  const traits: Record<string, TraitValue> =
    event.type === 'identify'
      ? dict([
          ...Object.entries(scalarTraits(event.context?.traits)),
          ...Object.entries(scalarTraits(event.traits)),
        ])
      : scalarTraits(event.context?.traits);

  const audiences = engageAudiences(event, traits);
  // Audience flags are membership, not traits: keep them out of the trait map.
  if (event.type === 'identify') for (const key of Object.keys(audiences)) delete traits[key];

  if (event.type === 'track' && event.event === 'Trait Computed') {
    const key = event.properties?.trait_key;
    if (typeof key === 'string' && key !== '') {
      const value = event.properties ? own(event.properties, key) : undefined;
      if (isTraitValue(value)) traits[key] = value;
    }
  }

  const change: IdentityChange = { ...base, kind: 'link', traits, audiences };
  if (event.type === 'group' && event.groupId) {
    change.account = { id: event.groupId, traits: scalarTraits(event.traits) };
  } else if (event.context?.groupId) {
    // A call made in an account's context (context.groupId) also shows membership of it.
    change.account = { id: event.context.groupId, traits: dict() };
  }
  return change;
}

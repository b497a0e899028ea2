/**
 * A backfill's readers (src/segment/records.ts, profiles-sync.ts): lines, gzip, NDJSON and CSV
 * records with their line numbers, Profiles Sync rows and the changes they make.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { applyChange, emptyEffects, emptyGraph } from '../../../src/identity/graph';
import { SEGMENT_ID_TYPE } from '../../../src/identity/identifiers';
import { anchorOf } from '../../../src/identity/profile';
import { createIdentityRules } from '../../../src/identity/rules';
import {
  profilesSyncTable,
  type SyncRow,
  syncChange,
  syncRow,
  traitValue,
  warehouseDate,
} from '../../../src/segment/profiles-sync';
import {
  csvFields,
  csvRecords,
  decompressed,
  linesOf,
  ndjsonRecords,
  type SourceRecord,
} from '../../../src/segment/records';

const rules = createIdentityRules();

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const stream = (...chunks: (string | Buffer)[]) =>
  Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));

describe('lines', () => {
  it('splits across chunks, on \\n and \\r\\n, numbers from 1 and keeps a last line without newline', async () => {
    const lines = await all(linesOf(stream('one\r\ntw', 'o\n\nthr', 'ee')));
    expect(lines).toEqual([
      { line: 1, text: 'one' },
      { line: 2, text: 'two' },
      { line: 3, text: '' },
      { line: 4, text: 'three' },
    ]);
  });

  it('refuses a line over the limit without buffering it, and goes on', async () => {
    const lines = await all(linesOf(stream('short\n', 'x'.repeat(50), 'y'.repeat(50), '\nafter\n'), 64));
    expect(lines).toEqual([
      { line: 1, text: 'short' },
      { line: 2, problem: 'longer than 64 bytes' },
      { line: 3, text: 'after' },
    ]);
  });

  it('gunzips gzip, passes anything else through, and reports a truncated gzip after what it held', async () => {
    const gz = gzipSync(Array.from({ length: 600 }, (_, i) => `line ${i} ${(i * 7919) % 10007}`).join('\n'));
    expect((await all(linesOf(await decompressed(stream(gz))))).length).toBe(600);
    expect(await all(linesOf(await decompressed(stream('plain\n'))))).toEqual([{ line: 1, text: 'plain' }]);
    const cut = await all(linesOf(await decompressed(stream(gz.subarray(0, gz.length - 20)))));
    expect(cut.at(-1)).toEqual({ line: cut.length, problem: expect.stringMatching(/truncated/) });
    expect(cut.length).toBeGreaterThan(100);
  });
});

describe('records', () => {
  it('reads NDJSON objects, naming what is not one', async () => {
    const records = await all(ndjsonRecords(linesOf(stream('{"a":1}\n[1]\n{broken\n\n{"b":2}'))));
    expect(records as SourceRecord[]).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 2, problem: 'not a JSON object' },
      { line: 3, problem: expect.stringMatching(/^not JSON/) },
      { line: 5, value: { b: 2 } },
    ]);
  });

  it('reads RFC 4180 CSV: quotes, doubled quotes, commas and newlines in fields', async () => {
    expect(csvFields('a,"b,c","say ""hi""",')).toEqual(['a', 'b,c', 'say "hi"', '']);
    expect(csvFields('"open')).toBeUndefined();
    const records = await all(
      csvRecords(linesOf(stream('\uFEFFID,Name\n1,"two\nlines"\n2,plain,extra\n3,"never closed\n'))),
    );
    expect(records).toEqual([
      { line: 2, value: { id: '1', name: 'two\nlines' } },
      { line: 4, problem: '3 fields where the header has 2' },
      { line: 5, problem: 'a quoted field is not closed at the end of the file' },
    ]);
  });
});

describe('Profiles Sync rows', () => {
  it('recognises the tables by their columns', () => {
    expect(profilesSyncTable(['canonical_segment_id', 'type', 'value', 'timestamp'])).toBe(
      'user_identifiers',
    );
    expect(profilesSyncTable(['canonical_segment_id', 'name', 'value'])).toBe('user_traits');
    expect(profilesSyncTable(['user_id', 'group_id', 'timestamp'])).toBe('account_links');
    expect(profilesSyncTable(['type', 'messageid'])).toBeUndefined();
  });

  it('reads warehouse dates and trait values as Segment exports them', () => {
    const t = Date.UTC(2026, 10, 24, 9, 0, 0, 120);
    expect(warehouseDate('2026-11-24 09:00:00.120 UTC')).toBe(t);
    expect(warehouseDate('2026-11-24T09:00:00.120Z')).toBe(t);
    expect(warehouseDate('2026-11-24 10:00:00.120000+01:00')).toBe(t);
    expect(warehouseDate('2026-11-24 09:00')).toBe(Date.UTC(2026, 10, 24, 9, 0));
    expect(warehouseDate('yesterday')).toBeUndefined();
    expect([
      traitValue('true'),
      traitValue('42'),
      traitValue('"pro"'),
      traitValue('01234'),
      traitValue('pro'),
    ]).toEqual([
      { ok: true, value: true },
      { ok: true, value: 42 },
      { ok: true, value: 'pro' },
      { ok: true, value: '01234' },
      { ok: true, value: 'pro' },
    ]);
    expect(traitValue({ nested: 1 })).toEqual({ ok: false });
  });

  it('names what a row lacks', () => {
    expect(syncRow('user_identifiers', { canonical_segment_id: 'c', type: 'user_id', value: 'u' })).toEqual({
      problem: expect.stringMatching(/^timestamp/),
    });
    expect(
      syncRow('user_traits', {
        CANONICAL_SEGMENT_ID: 'c',
        NAME: '',
        VALUE: '1',
        TIMESTAMP: '2026-01-01 00:00:00',
      }),
    ).toEqual({
      problem: 'name: empty',
    });
    expect(syncRow('account_links', { group_id: 'g', timestamp: '2026-01-01 00:00:00' })).toEqual({
      problem: 'no canonical_segment_id, user_id or anonymous_id',
    });
  });

  it('links a profile’s identifiers with Segment’s id as a join key that never anchors', () => {
    const rows = [
      { canonical_segment_id: 'c1', type: 'user_id', value: 'u1', timestamp: '2026-01-01 00:05:00' },
      { canonical_segment_id: 'c1', type: 'anonymous_id', value: 'a1', timestamp: '2026-01-01 00:00:00' },
    ].map((r) => syncRow('user_identifiers', r) as SyncRow);
    const link = syncChange(rows, rules)!;
    expect(link).toMatchObject({ kind: 'link', at: Date.UTC(2026, 0, 1, 0, 5) });
    expect(link.identifiers).toEqual(
      expect.arrayContaining([
        { type: SEGMENT_ID_TYPE, value: 'c1', firstSeen: Date.UTC(2026, 0, 1, 0, 5) },
        { type: 'anonymous_id', value: 'a1', firstSeen: Date.UTC(2026, 0, 1) },
      ]),
    );
    const traits = syncChange(
      [
        { canonical_segment_id: 'c1', name: 'plan', value: 'free', timestamp: '2026-01-01 00:01:00' },
        { canonical_segment_id: 'c1', name: 'plan', value: 'pro', timestamp: '2026-01-02 00:00:00' },
      ].map((r) => syncRow('user_traits', r) as SyncRow),
      rules,
    )!;
    expect(traits).toMatchObject({
      kind: 'attach',
      identifiers: [{ type: SEGMENT_ID_TYPE, value: 'c1' }],
      traits: { plan: 'pro' },
    });
    const graph = emptyGraph();
    const effects = emptyEffects();
    // Traits first: refused while the person is not loaded; after the identifiers, attached.
    expect(applyChange(rules, graph, effects, traits, () => 'p')).toMatchObject({ status: 'ignored' });
    applyChange(rules, graph, effects, link, () => 'p');
    expect(applyChange(rules, graph, effects, traits, () => 'q')).toMatchObject({
      status: 'applied',
      profileId: 'p',
    });
    const profile = graph.profiles.get('p')!;
    expect(anchorOf(rules, profile)?.anchor).toMatchObject({ type: 'anonymous_id', value: 'a1' });
    expect(profile.traits.plan).toEqual({ value: 'pro', at: Date.UTC(2026, 0, 2) });
  });
});

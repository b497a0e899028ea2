import { describe, expect, it } from '@jest/globals';
import { mergeBatches, packBatches } from '../../../src/events/event-batch';
import { eventBatch } from '../../support/events';

describe('merging event batches', () => {
  it('concatenates the visitors of batches with one envelope, keeping other projects apart', () => {
    const other = { ...eventBatch(['c']), project_id: '9' };
    const merged = mergeBatches([eventBatch(['a']), other, eventBatch(['b'])]);
    expect(merged.map((b) => [b.project_id, b.visitors.map((v) => v.visitor_id)])).toEqual([
      ['2', ['visitor-a', 'visitor-b']],
      ['9', ['visitor-c']],
    ]);
  });

  it('starts a new batch before one would pass the size bound, never cutting a batch in two', () => {
    const big = (uuid: string) => eventBatch([uuid]);
    const one = Buffer.byteLength(JSON.stringify(big('x').visitors));
    const { visitors: _, ...envelope } = big('x');
    // Room for the envelope and two batches' visitors, not three.
    const bound = Buffer.byteLength(JSON.stringify(envelope)) + 2 * one + 10;
    const merged = mergeBatches([big('a'), big('b'), big('c'), big('d')], bound);
    expect(merged.map((b) => b.visitors.length)).toEqual([2, 2]);
    // A batch over the bound by itself travels alone.
    expect(mergeBatches([big('a'), big('b')], 10).map((b) => b.visitors.length)).toEqual([1, 1]);
  });

  it('says which batches went into each merged one', () => {
    const packed = packBatches([
      { batch: eventBatch(['a']), tag: 'ref-a' },
      { batch: { ...eventBatch(['c']), project_id: '9' }, tag: 'ref-c' },
      { batch: eventBatch(['b']), tag: 'ref-b' },
    ]);
    expect(packed.map((p) => p.tags)).toEqual([['ref-a', 'ref-b'], ['ref-c']]);
  });
});

/**
 * `npm run cost` (scripts/cost.ts) on a sample bench run: it runs, prints what the model computes,
 * and docs/cost.md's generated section is exactly that.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { costMarkdown, costModel, generatedSection, PRICES, total } from '../../scripts/cost';

const root = resolve(import.meta.dirname, '..', '..');
const samplePath = resolve(root, 'test/fixtures/bench-results.sample.json');
const sample = JSON.parse(readFileSync(samplePath, 'utf8'));

describe('npm run cost', () => {
  it('prints the cost model of a bench run', () => {
    const printed = execFileSync(resolve(root, 'node_modules/.bin/tsx'), ['scripts/cost.ts', samplePath], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(printed.trim()).toBe(costMarkdown(costModel(sample)).trim());
  });

  it('prices the outbox write and the relay delete of every decide at two write units', () => {
    const model = costModel(sample);
    const queue = model.decide.find((line) => line.item.startsWith('Event queue'));
    expect(queue?.perMillion).toBeCloseTo(2 * PRICES.dynamoDbPerMillionWru, 6);
    expect(total(model.decide)).toBeGreaterThan(total(model.segment));
  });

  it('names the bench figures it used and the ones it had to assume', () => {
    const model = costModel({ results: {} });
    expect(model.used).toEqual([]);
    expect(model.assumed.map((a) => a.split(' ')[0])).toContain('decide_billed_ms');
  });

  it('matches docs/cost.md (regenerate with npm run cost -- test/fixtures/bench-results.sample.json --write)', () => {
    const doc = readFileSync(resolve(root, 'docs/cost.md'), 'utf8');
    expect(generatedSection(doc)).toBe(costMarkdown(costModel(sample)).trim());
  });
});

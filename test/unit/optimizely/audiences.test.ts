/**
 * Whether a saved user-profile entry is honoured for a client key: only while the attributes
 * Crosswalk holds certainly qualify for the experiment's audiences (src/optimizely/audiences.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { qualifiesForExperiment } from '../../../src/optimizely/audiences';
import type { Project } from '../../../src/optimizely/projects';

function project(datafile: unknown): Project {
  return { datafile: JSON.stringify(datafile) } as unknown as Project;
}

const condition = (name: string, match: string | undefined, value: unknown) => ({
  type: 'custom_attribute',
  name,
  ...(match ? { match } : {}),
  value,
});

const datafile = project({
  audiences: [
    { id: 'pro', conditions: JSON.stringify(['and', ['or', condition('plan', 'exact', 'pro')]]) },
    { id: 'big', conditions: ['or', condition('seats', 'gt', 100)] },
    { id: 'fr', conditions: ['not', condition('country', undefined, 'FR')] },
    { id: 'semver', conditions: ['or', condition('app', 'semver_ge', '2.0.0')] },
  ],
  typedAudiences: [{ id: 'has-plan', conditions: ['and', condition('plan', 'exists', null)] }],
  experiments: [
    { id: 'e-pro', audienceIds: ['pro'] },
    { id: 'e-all', audienceIds: [] },
    { id: 'e-both', audienceConditions: ['and', 'pro', 'big'] },
    { id: 'e-either', audienceConditions: ['or', 'pro', 'big'] },
    { id: 'e-not-fr', audienceIds: ['fr'] },
    { id: 'e-semver', audienceIds: ['semver'] },
    { id: 'e-has-plan', audienceIds: ['has-plan'] },
  ],
  groups: [{ experiments: [{ id: 'e-grouped', audienceIds: ['pro'] }] }],
});

describe('qualifiesForExperiment', () => {
  it.each([
    ['e-pro', { plan: 'pro' }, true],
    ['e-pro', { plan: 'free' }, false],
    ['e-pro', {}, false],
    ['e-all', {}, true],
    ['e-both', { plan: 'pro', seats: 120 }, true],
    ['e-both', { plan: 'pro', seats: 20 }, false],
    ['e-either', { plan: 'free', seats: 120 }, true],
    ['e-either', { seats: 20 }, false],
    ['e-not-fr', { country: 'DE' }, true],
    ['e-not-fr', { country: 'FR' }, false],
    ['e-not-fr', {}, false],
    ['e-semver', { app: '3.0.0' }, false],
    ['e-has-plan', { plan: 'free' }, true],
    ['e-has-plan', {}, false],
    ['e-grouped', { plan: 'pro' }, true],
    ['e-unknown', { plan: 'pro' }, false],
    ['e-pro', { plan: 1 }, false],
  ] as const)('%s with %j → %s', (experimentId, attributes, expected) => {
    expect(qualifiesForExperiment(datafile, experimentId, attributes)).toBe(expected);
  });
});

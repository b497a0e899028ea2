/**
 * The read-through's synth-time switch (functions/from-config.ts): a bundle synthesized without
 * SEGMENT_SPACE_ID has `process.env.CROSSWALK_READ_THROUGH_BUNDLED` replaced by `'false'` and no
 * read-through code; here the same branch is taken by setting the variable, unbundled.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { identityRulesFromConfig, readThroughFromConfig } from '../../../functions/from-config';
import { loadConfig } from '../../../src/platform/config/env';
import { createDynamoDbClient } from '../../../src/platform/dynamodb/client';
import { recordingObservability } from '../../support/events';

const configured = loadConfig({
  TABLE_NAME: 'read-through-bundling',
  AWS_REGION: 'local',
  SEGMENT_SPACE_ID: 'spa_1',
  SEGMENT_PROFILE_API_TOKEN: 'token',
});
const client = createDynamoDbClient({ endpoint: 'http://127.0.0.1:9' });

afterEach(() => {
  delete process.env.CROSSWALK_READ_THROUGH_BUNDLED;
});

describe('readThroughFromConfig', () => {
  it('builds the read-through when the code is there and a space and token are configured', () => {
    const observability = recordingObservability();
    const rules = identityRulesFromConfig(configured);
    expect(readThroughFromConfig(configured, { client, rules, observability })).toBeDefined();
    process.env.CROSSWALK_READ_THROUGH_BUNDLED = 'true';
    expect(readThroughFromConfig(configured, { client, rules, observability })).toBeDefined();
    expect(observability.logged).toEqual([]);
  });

  it('is off, and says why, in a bundle synthesized without SEGMENT_SPACE_ID that is given one', () => {
    process.env.CROSSWALK_READ_THROUGH_BUNDLED = 'false';
    const observability = recordingObservability();
    const rules = identityRulesFromConfig(configured);
    expect(readThroughFromConfig(configured, { client, rules, observability })).toBeUndefined();
    expect(observability.logged).toEqual([
      expect.objectContaining({ level: 'error', message: expect.stringMatching(/synthesized without it/) }),
    ]);
  });

  it('is off without a word when no space is configured either', () => {
    process.env.CROSSWALK_READ_THROUGH_BUNDLED = 'false';
    const observability = recordingObservability();
    const config = loadConfig({ TABLE_NAME: 'read-through-bundling', AWS_REGION: 'local' });
    const rules = identityRulesFromConfig(config);
    expect(readThroughFromConfig(config, { client, rules, observability })).toBeUndefined();
    expect(observability.logged).toEqual([]);
  });
});

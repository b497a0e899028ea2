import { describe, expect, it } from '@jest/globals';
import { deployableVariables, loadConfig, localVariables, variables } from '../../src/platform/config/env';
import { ConfigurationError } from '../../src/platform/core/errors';

describe('loadConfig', () => {
  it('fails naming the missing variable and how to fix it', () => {
    expect(() => loadConfig({})).toThrow(ConfigurationError);
    expect(() => loadConfig({})).toThrow(/^TABLE_NAME is not set: .*; set it to the DynamoDB table name$/);
  });

  it('applies documented defaults and splits comma lists', () => {
    const parsed = loadConfig({ TABLE_NAME: 't', ACCOUNT_BUCKETED_FLAGS: 'a, b,,c', API_KEYS: 'k1,k2' });
    expect(parsed.ACCOUNT_BUCKETED_FLAGS).toEqual(['a', 'b', 'c']);
    expect(parsed.API_KEYS).toEqual(['k1', 'k2']);
    expect(parsed.OPTIMIZELY_EVENT_ENDPOINT).toBe('https://logx.optimizely.com/v1/events');
    expect(parsed.REQUIRE_AUTH).toBe(false);
    expect(parsed.LOG_LEVEL).toBe('info');
  });

  it('treats an empty variable as unset', () => {
    const parsed = loadConfig({ TABLE_NAME: 't', SEGMENT_WEBHOOK_TOKEN: '', IDENTITY_CACHE_TTL_MS: '' });
    expect(parsed.SEGMENT_WEBHOOK_TOKEN).toBeUndefined();
    expect(parsed.IDENTITY_CACHE_TTL_MS).toBe(30_000);
    expect(() => loadConfig({ TABLE_NAME: '' })).toThrow(/TABLE_NAME/);
  });

  it.each([
    [
      'MAX_DECIDE_KEYS',
      'abc',
      /^MAX_DECIDE_KEYS is "abc": .*; use a whole number ≥ 1, or unset it for the default$/,
    ],
    ['LOG_LEVEL', 'verbose', /^LOG_LEVEL is "verbose": .*one of debug, info, warn, error, silent/],
    ['REQUIRE_AUTH', 'ture', /^REQUIRE_AUTH is "ture": .*true or false/],
    ['IDENTITY_BLOCKED_VALUES', '[', /^IDENTITY_BLOCKED_VALUES is "\[": .*not a valid regular expression/],
    ['IDENTITY_LIMITS', 'email=5', /^IDENTITY_LIMITS is "email=5": .*type:n/],
    ['OPTIMIZELY_DATAFILE_URL_TEMPLATE', 'https://x/y.json', /^OPTIMIZELY_DATAFILE_URL_TEMPLATE is .*%s/],
  ])('refuses %s=%s in one line naming the variable, the problem and the fix', (name, value, message) => {
    const error = (() => {
      try {
        loadConfig({ TABLE_NAME: 't', [name]: value });
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(message);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('never echoes the value of a secret variable', () => {
    expect(() => loadConfig({ TABLE_NAME: 't', API_KEYS: 'x', SEGMENT_SHARED_SECRET: ' ' })).not.toThrow();
    const error = (() => {
      try {
        loadConfig({ TABLE_NAME: 't', OPTIMIZELY_WEBHOOK_SECRET: 42 as unknown as string });
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(error.message).toMatch(/^OPTIMIZELY_WEBHOOK_SECRET is invalid/);
  });

  it('sorts every variable into who may set it', () => {
    expect(deployableVariables).toContain('LOG_LEVEL');
    expect(deployableVariables).not.toContain('TABLE_NAME');
    expect(localVariables).toEqual(
      expect.arrayContaining([
        'DYNAMODB_ENDPOINT',
        'API_KEYS',
        'SEGMENT_SHARED_SECRET',
        'OPTIMIZELY_DATAFILE',
      ]),
    );
    for (const name of [...deployableVariables, ...localVariables]) expect(variables[name]).toBeDefined();
  });
});

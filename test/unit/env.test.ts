import { describe, expect, it } from '@jest/globals';
import { ConfigurationError, parseEnv } from '../../functions/config/env';

describe('parseEnv', () => {
  it('fails naming the missing variable', () => {
    expect(() => parseEnv({})).toThrow(ConfigurationError);
    expect(() => parseEnv({})).toThrow(/TABLE_NAME/);
  });

  it('applies documented defaults and splits comma lists', () => {
    const parsed = parseEnv({ TABLE_NAME: 't', ACCOUNT_BUCKETED_FLAGS: 'a, b,,c', API_KEYS: 'k1,k2' });
    expect(parsed.ACCOUNT_BUCKETED_FLAGS).toEqual(['a', 'b', 'c']);
    expect(parsed.API_KEYS).toEqual(['k1', 'k2']);
    expect(parsed.OPTIMIZELY_EVENT_ENDPOINT).toBe('https://logx.optimizely.com/v1/events');
    expect(parsed.REQUIRE_AUTH).toBe(false);
  });

  it('treats an empty variable as unset', () => {
    const parsed = parseEnv({ TABLE_NAME: 't', SEGMENT_WEBHOOK_TOKEN: '', IDENTITY_CACHE_TTL_MS: '' });
    expect(parsed.SEGMENT_WEBHOOK_TOKEN).toBeUndefined();
    expect(parsed.IDENTITY_CACHE_TTL_MS).toBe(30_000);
    expect(() => parseEnv({ TABLE_NAME: '' })).toThrow(/TABLE_NAME/);
  });

  it('rejects a datafile URL template without a %s placeholder', () => {
    expect(() => parseEnv({ TABLE_NAME: 't', OPTIMIZELY_DATAFILE_URL_TEMPLATE: 'https://x/y.json' })).toThrow(
      /OPTIMIZELY_DATAFILE_URL_TEMPLATE/,
    );
  });
});

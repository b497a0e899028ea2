import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { sdkKeyFromDatafileUrl } from '../../../functions/optimizely-webhook/schema';
import { verifyHubSignature } from '../../../src/platform/http/webhook-auth';

describe('Optimizely webhook signature', () => {
  const body = '{"project_id":1,"event":"project.datafile_updated"}';
  const signature = `sha1=${createHmac('sha1', 'secret').update(body).digest('hex')}`;

  it('accepts the HMAC-SHA1 of the raw body', () => {
    expect(verifyHubSignature('secret', body, signature)).toBe(true);
  });

  it('refuses another secret, another body, a bare hex digest or no header', () => {
    expect(verifyHubSignature('other', body, signature)).toBe(false);
    expect(verifyHubSignature('secret', `${body} `, signature)).toBe(false);
    expect(verifyHubSignature('secret', body, signature.slice(5))).toBe(false);
    expect(verifyHubSignature('secret', body, undefined)).toBe(false);
  });

  it('reads the SDK key from the datafile URL only', () => {
    expect(sdkKeyFromDatafileUrl('https://cdn.optimizely.com/datafiles/AbC123_x.json')).toBe('AbC123_x');
    expect(sdkKeyFromDatafileUrl('https://cdn.optimizely.com/datafiles/../x.json')).toBeUndefined();
    expect(sdkKeyFromDatafileUrl('https://cdn.optimizely.com/public/1/datafile.json')).toBeUndefined();
  });
});

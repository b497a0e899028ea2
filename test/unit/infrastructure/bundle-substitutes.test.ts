/**
 * The bundle substitutes under build/ that stand in for library or built-in modules in the function
 * bundles: they must behave as the modules they replace for every use the bundles make of them.
 */
import { createHash, createHmac } from 'node:crypto';
import { gunzipSync as realGunzipSync, gzipSync as realGzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { createGunzip, gunzip, gunzipSync, gzipSync } from '../../../build/builtins/zlib';
import { Sha256 } from '../../../build/checksum';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('build/checksum.ts Sha256', () => {
  it('digests as SHA-256, and keeps digesting after more updates', async () => {
    // Prepare
    const hash = new Sha256();
    // Act
    hash.update(new TextEncoder().encode('cross'));
    const first = await hash.digest();
    hash.update(new TextEncoder().encode('walk'));
    const second = await hash.digest();
    // Assess
    expect(hex(first)).toBe(createHash('sha256').update('cross').digest('hex'));
    expect(hex(second)).toBe(createHash('sha256').update('crosswalk').digest('hex'));
  });

  it('digests as HMAC-SHA-256 with a string or byte secret, and starts over on reset', async () => {
    const expected = createHmac('sha256', 'key').update('body').digest('hex');
    for (const secret of ['key', new TextEncoder().encode('key'), new TextEncoder().encode('key').buffer]) {
      const hmac = new Sha256(secret);
      hmac.update(new TextEncoder().encode('body'));
      expect(hex(await hmac.digest())).toBe(expected);
      expect(() => hmac.update(new Uint8Array([1]))).toThrow('update after the HMAC was digested');
      hmac.reset();
      hmac.update(new TextEncoder().encode('body'));
      expect(hex(await hmac.digest())).toBe(expected);
    }
  });

  it('hashes a view into a larger buffer by its own bytes only', async () => {
    const whole = new TextEncoder().encode('xxcrosswalkxx');
    const hash = new Sha256();
    hash.update(whole.subarray(2, 11));
    expect(hex(await hash.digest())).toBe(createHash('sha256').update('crosswalk').digest('hex'));
  });
});

describe('build/builtins/zlib.ts', () => {
  it('compresses and decompresses as node:zlib does, in every form the bundles use', async () => {
    const text = 'crosswalk '.repeat(50);
    expect(realGunzipSync(gzipSync(text)).toString()).toBe(text);
    expect(gunzipSync(realGzipSync(text)).toString()).toBe(text);
    const viaCallback = await new Promise<string>((resolve, reject) =>
      gunzip(realGzipSync(text), (error, out) => (error ? reject(error) : resolve(out.toString()))),
    );
    expect(viaCallback).toBe(text);
    const stream = createGunzip();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    stream.end(realGzipSync(text));
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe(text);
  });

  it('reports a corrupt input as node:zlib does', () => {
    expect(() => gunzipSync(Buffer.from('not gzip'))).toThrow(/incorrect header check/);
  });
});

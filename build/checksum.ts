/**
 * Bundled in place of `@smithy/core/checksum` in every function that uses no S3 (an esbuild alias
 * set by the function construct, lib/constructs/crosswalk-function.ts). Their AWS calls (the DynamoDB
 * client; the signed Secrets Manager request) only hash with SHA-256, which Node's crypto always has;
 * the original also bundles a pure-JS SHA-256 fallback for runtimes without it (about 3.3 KB per
 * bundle). The backfill, whose S3 client needs the MD5 and CRC checksums too, keeps the original.
 * Importing any other name from here fails `cdk synth` (esbuild: no matching export).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { Checksum, SourceData } from '@smithy/types';

/** SHA-256, or HMAC-SHA-256 with a secret, as the SDK's checksum interface asks. */
export class Sha256 implements Checksum {
  readonly digestLength = 32;
  private hash: Hash | Hmac;
  private finished = false;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.start();
  }

  update(data: Uint8Array): void {
    if (this.finished) throw new Error('Sha256: update after the HMAC was digested');
    this.hash.update(bytes(data));
  }

  async digest(): Promise<Uint8Array> {
    // A plain hash digests a copy, so it may be updated further; an HMAC cannot be copied.
    const out = 'copy' in this.hash ? this.hash.copy().digest() : this.hash.digest();
    if (!('copy' in this.hash)) this.finished = true;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  reset(): void {
    this.hash = this.start();
    this.finished = false;
  }

  private start(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

function bytes(data: SourceData): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

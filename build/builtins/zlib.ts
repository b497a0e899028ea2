/**
 * `node:zlib` loaded at its first use, not at import (see README.md here): zlib and its stream
 * classes cost a few ms of every cold start, and most functions compress only on some requests
 * (an outbox batch, a stored datafile, a gzipped answer).
 */
import type * as Zlib from 'node:zlib';

const zlib = (): typeof Zlib => process.getBuiltinModule('node:zlib');

export const gzipSync: typeof Zlib.gzipSync = (buffer, options) => zlib().gzipSync(buffer, options);
export const gunzipSync: typeof Zlib.gunzipSync = (buffer, options) => zlib().gunzipSync(buffer, options);
export const gunzip = ((...args: Parameters<typeof Zlib.gunzip>) =>
  (zlib().gunzip as (...a: unknown[]) => void)(...args)) as typeof Zlib.gunzip;
export const createGunzip: typeof Zlib.createGunzip = (options) => zlib().createGunzip(options);

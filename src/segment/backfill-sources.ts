/**
 * Where a backfill reads from: one file, a folder tree of files (Segment's S3 archive as synced
 * locally: `segment-logs/<source-id>/<day>/*.gz`), or an `s3://bucket/prefix` (deployed, or moto
 * server locally). Files are read in key order (the archive's day folders are epoch milliseconds,
 * so that is time order); Segment's `dummy-object.txt` and hidden files are skipped. The S3 client
 * is imported by name, so a bundle carries only the two commands it sends.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError } from '../platform/core/errors';

export interface BackfillFile {
  /** A path, or `s3://bucket/key`. */
  name: string;
  /** Bytes, when known (progress and ETA). */
  size: number | undefined;
  open(): Promise<Readable>;
}

const skipped = (name: string) => name.startsWith('.') || name === 'dummy-object.txt';

export function createS3Client(endpoint?: string): S3Client {
  return endpoint
    ? new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      })
    : new S3Client({});
}

async function localFiles(path: string): Promise<BackfillFile[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    throw new ConfigurationError(`${path}: no such file or folder`);
  }
  if (info.isFile()) return [{ name: path, size: info.size, open: async () => createReadStream(path) }];
  const files: BackfillFile[] = [];
  const walk = async (dir: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (skipped(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const size = (await stat(full)).size;
        files.push({ name: full, size, open: async () => createReadStream(full) });
      }
    }
  };
  await walk(path);
  return files;
}

async function s3Files(url: string, client: S3Client): Promise<BackfillFile[]> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new ConfigurationError(`${url}: not an s3://bucket/prefix`);
  const [, bucket = '', prefix = ''] = match;
  const files: BackfillFile[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? '';
      if (key.endsWith('/') || skipped(key.split('/').at(-1) ?? '')) continue;
      files.push({
        name: `s3://${bucket}/${key}`,
        size: object.Size,
        open: async () => {
          const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return output.Body as Readable;
        },
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return files.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The files of a source, in the order they are read. */
export async function backfillFiles(source: string, s3: () => S3Client): Promise<BackfillFile[]> {
  return source.startsWith('s3://') ? s3Files(source, s3()) : localFiles(source);
}

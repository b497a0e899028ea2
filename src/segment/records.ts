/**
 * Records of a backfill source, streamed in bounded memory: a file (or S3 object) is read chunk by
 * chunk, gunzipped when it starts with gzip's magic bytes (Segment's S3 archive is gzipped NDJSON;
 * S3 may hand it over decompressed already: `Content-Encoding: gzip`), and cut into lines; NDJSON
 * lines become objects, CSV lines (RFC 4180: quoted fields may hold commas, quotes and newlines)
 * become rows keyed by the header's column names (lower-cased: warehouses export them in either
 * case). Each record carries its line number (the first line, for a CSV row over several), and a
 * line that cannot be read becomes a problem with its reason instead of stopping the file.
 * `fileRecords` tells from a file's first line what it holds (Segment messages or a Profiles Sync table).
 */
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type ProfilesSyncTable, profilesSyncTable } from './profiles-sync';

/** A line longer than this is refused (Segment's events stop at 32 KB; warehouse rows are small). */
export const MAX_LINE_BYTES = 1024 * 1024;

export type SourceRecord =
  | { line: number; value: Record<string, unknown> }
  | { line: number; problem: string };

/** Resolves the stream's first chunk without consuming it (null when empty). */
function firstChunk(stream: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const done = (chunk: Buffer | null) => {
      stream.off('readable', onReadable);
      stream.off('error', reject);
      stream.off('end', onEnd);
      resolve(chunk);
    };
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      stream.unshift(chunk);
      done(chunk);
    };
    const onEnd = () => done(null);
    stream.on('readable', onReadable);
    stream.once('error', reject);
    stream.once('end', onEnd);
  });
}

/** The bytes of a source, gunzipped when they are gzip. A truncated gzip fails at its end. */
export async function decompressed(stream: Readable): Promise<Readable> {
  const head = await firstChunk(stream);
  if (head === null || head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) return stream;
  return pipeline(stream, createGunzip(), () => undefined);
}

export interface Line {
  line: number;
  text?: string;
  problem?: string;
}

/**
 * Lines of a byte stream (`\n` or `\r\n`), numbered from 1, with a line over `maxBytes` refused
 * (and skipped up to its end) instead of buffered. A stream that fails mid-way (a truncated gzip)
 * yields what it read, then one problem naming the failure.
 */
export async function* linesOf(stream: Readable, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  let line = 0;
  const flush = (): Line => {
    line++;
    if (tooLong) {
      tooLong = false;
      pending = [];
      pendingBytes = 0;
      return { line, problem: `longer than ${maxBytes} bytes` };
    }
    let text = Buffer.concat(pending).toString('utf8');
    pending = [];
    pendingBytes = 0;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return { line, text };
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, start)) {
        if (!tooLong) pending.push(chunk.subarray(start, at));
        yield flush();
        start = at + 1;
      }
      if (start < chunk.length && !tooLong) {
        pending.push(chunk.subarray(start));
        pendingBytes += chunk.length - start;
        if (pendingBytes > maxBytes) {
          tooLong = true;
          pending = [];
        }
      }
    }
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR'
        ? 'the gzip data ends early (truncated file)'
        : (error as Error).message;
    yield { line: line + 1, problem: `cannot read further: ${reason}; the lines before were read` };
    return;
  }
  if (pendingBytes > 0 || tooLong || pending.length > 0) yield flush();
}

/** NDJSON: one JSON object per line; blank lines are skipped. */
export async function* ndjsonRecords(lines: AsyncIterable<Line>): AsyncGenerator<SourceRecord> {
  for await (const { line, text, problem } of lines) {
    if (problem !== undefined) {
      yield { line, problem };
      continue;
    }
    if (!text || text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { line, problem: `not JSON (${(error as Error).message})` };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { line, problem: 'not a JSON object' };
      continue;
    }
    yield { line, value: value as Record<string, unknown> };
  }
}

/** One CSV record's fields, or undefined while a quoted field is still open at the end of `text`. */
export function csvFields(text: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
    i++;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

/**
 * CSV with a header row: each row keyed by the header's lower-cased column names; a row with more
 * fields than the header is refused, missing trailing fields are empty.
 */
export async function* csvRecords(
  lines: AsyncIterable<Line>,
  maxBytes = MAX_LINE_BYTES,
): AsyncGenerator<SourceRecord> {
  let header: string[] | undefined;
  let open: { line: number; text: string } | undefined;
  for await (const { line, text, problem } of lines) {
    if (problem !== undefined) {
      if (open) yield { line: open.line, problem: 'a quoted field is not closed' };
      open = undefined;
      yield { line, problem };
      continue;
    }
    const joined = open ? `${open.text}\n${text ?? ''}` : (text ?? '');
    const first = open?.line ?? line;
    if (!open && joined.trim() === '') continue;
    const fields = csvFields(joined);
    if (fields === undefined) {
      if (Buffer.byteLength(joined, 'utf8') > maxBytes) {
        yield { line: first, problem: `a quoted field runs over ${maxBytes} bytes` };
        open = undefined;
      } else open = { line: first, text: joined };
      continue;
    }
    open = undefined;
    if (!header) {
      header = fields.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim().toLowerCase());
      continue;
    }
    if (fields.length > header.length) {
      yield { line: first, problem: `${fields.length} fields where the header has ${header.length}` };
      continue;
    }
    const value: Record<string, unknown> = {};
    header.forEach((name, i) => {
      value[name] = fields[i] ?? '';
    });
    yield { line: first, value };
  }
  if (open) yield { line: open.line, problem: 'a quoted field is not closed at the end of the file' };
}

export type FileRecords =
  | { kind: 'archive'; records: AsyncIterable<SourceRecord> }
  | { kind: ProfilesSyncTable; records: AsyncIterable<SourceRecord> }
  | { kind: 'unknown'; why: string; records: AsyncIterable<SourceRecord> };

/**
 * A file's records and what they are, from its first line: JSON objects are NDJSON (Segment
 * messages, or rows of a Profiles Sync table when they have its columns), anything else is CSV with
 * a header (a Profiles Sync table).
 */
export async function fileRecords(lines: AsyncGenerator<Line>): Promise<FileRecords> {
  const iterator = lines[Symbol.asyncIterator]();
  const head: Line[] = [];
  let first: Line | undefined;
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    if (next.value.problem !== undefined || (next.value.text ?? '').trim() !== '') {
      first = next.value;
      break;
    }
  }
  const replay: AsyncIterable<Line> = {
    async *[Symbol.asyncIterator]() {
      yield* head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    },
  };
  const text = first?.text?.trim() ?? '';
  if (text.startsWith('{')) {
    let sample: Record<string, unknown> = {};
    try {
      sample = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // the first line is broken: taken as Segment messages, it will be refused with its reason
    }
    const keys = Object.keys(sample).map((k) => k.toLowerCase());
    const table = profilesSyncTable(keys);
    return table
      ? { kind: table, records: ndjsonRecords(replay) }
      : { kind: 'archive', records: ndjsonRecords(replay) };
  }
  if (first === undefined) return { kind: 'archive', records: ndjsonRecords(replay) };
  const records = csvRecords(replay);
  const header = first.text
    ? first.text
        .replace(/^\uFEFF/, '')
        .split(',')
        .map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase())
    : [];
  const table = profilesSyncTable(header);
  if (table) return { kind: table, records };
  return {
    kind: 'unknown',
    why: `neither Segment messages (NDJSON) nor a Profiles Sync table (columns: ${header.join(', ').slice(0, 200)})`,
    records,
  };
}

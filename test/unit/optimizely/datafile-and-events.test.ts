import { describe, expect, it } from '@jest/globals';
import { DatafileSource, UNKNOWN_SDK_KEY } from '../../../src/optimizely/datafile-source';
import { CapturingEventDispatcher } from '../../../src/optimizely/event-dispatcher';
import { createProjectRegistry } from '../../../src/optimizely/projects';
import { DependencyUnavailableError, UnknownProjectError } from '../../../src/platform/core/errors';
import { createObservability } from '../../../src/platform/observability/logger';
import { InMemoryDatafileStore, now, sampleDatafile } from '../../support/agent';

function withRevision(revision: number): string {
  return JSON.stringify({ ...JSON.parse(sampleDatafile()), revision: String(revision) });
}

/** A CDN on a function: answers per SDK key, counts requests, honours If-None-Match. */
function fakeCdn(files: Map<string, string>, counter: { requests: number; status?: number }): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    counter.requests++;
    if (counter.status) return new Response('', { status: counter.status });
    const key = /\/([^/]+)\.json$/.exec(String(url))?.[1] ?? '';
    const text = files.get(key);
    if (!text) return new Response('<Error>AccessDenied</Error>', { status: 403 });
    const etag = `"${JSON.parse(text).revision}"`;
    if ((init?.headers as Record<string, string> | undefined)?.['if-none-match'] === etag)
      return new Response(null, { status: 304 });
    return new Response(text, { status: 200, headers: { etag } });
  }) as typeof fetch;
}

describe('DatafileSource', () => {
  it('stays bounded after 1,000 random SDK keys, writing nothing, and refuses keys it does not serve unfetched', async () => {
    const store = new InMemoryDatafileStore();
    const counter = { requests: 0 };
    const open = new DatafileSource({
      store,
      urlTemplate: 'https://cdn.test/%s.json',
      revalidateMs: 60_000,
      fetchFn: fakeCdn(new Map(), counter),
      allowedSdkKeys: ['*'],
    });
    for (let i = 0; i < 1000; i++) {
      await expect(open.get(`random${i}x${Math.random().toString(36).slice(2)}`)).rejects.toBeInstanceOf(
        UnknownProjectError,
      );
    }
    expect(counter.requests).toBe(1000);
    expect(open.sizes().held).toBe(0);
    expect(open.sizes().missing).toBeLessThanOrEqual(200);
    expect(store.items.size).toBe(0);

    const served = new DatafileSource({
      store,
      urlTemplate: 'https://cdn.test/%s.json',
      revalidateMs: 60_000,
      fetchFn: fakeCdn(new Map([['other', withRevision(1)]]), counter),
      allowedSdkKeys: ['mine'],
    });
    const refused = await served.get('other').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnknownProjectError);
    // Agent's wording for the caller; Crosswalk's reason alongside.
    expect((refused as UnknownProjectError).message).toBe(UNKNOWN_SDK_KEY);
    expect((refused as UnknownProjectError).detail).toMatch(
      /not served by this deployment \(OPTIMIZELY_SDK_KEYS\)/,
    );
    await expect(served.refresh('other')).rejects.toBeInstanceOf(UnknownProjectError);
    expect(counter.requests).toBe(1000);
  });

  it('serves the stored datafile without asking the CDN on a cold start', async () => {
    const store = new InMemoryDatafileStore();
    await store.put({ sdkKey: 'k1', datafile: withRevision(5), revision: 5, fetchedAt: Date.now() });
    const counter = { requests: 0 };
    const source = new DatafileSource({
      store,
      urlTemplate: 'https://cdn.test/%s.json',
      revalidateMs: 60_000,
      fetchFn: fakeCdn(new Map(), counter),
    });
    expect((await source.get('k1')).revision).toBe(5);
    expect(counter.requests).toBe(0);
  });

  it('fetches from the CDN when nothing is stored, and persists it', async () => {
    const store = new InMemoryDatafileStore();
    const counter = { requests: 0 };
    const source = new DatafileSource({
      store,
      urlTemplate: 'https://cdn.test/%s.json',
      revalidateMs: 60_000,
      fetchFn: fakeCdn(new Map([['k2', withRevision(7)]]), counter),
    });
    expect((await source.get('k2')).revision).toBe(7);
    expect(store.items.get('k2')?.revision).toBe(7);
    await source.get('k2');
    expect(counter.requests).toBe(1);
  });

  it('answers 403 for an SDK key with no datafile, and 503 when the CDN fails', async () => {
    const counter: { requests: number; status?: number } = { requests: 0 };
    const source = new DatafileSource({
      store: new InMemoryDatafileStore(),
      urlTemplate: 'https://cdn.test/%s.json',
      revalidateMs: 1,
      fetchFn: fakeCdn(new Map(), counter),
    });
    await expect(source.get('unknown')).rejects.toBeInstanceOf(UnknownProjectError);
    await expect(source.get('../etc')).rejects.toThrow('sdkKey failed validation');
    counter.status = 502;
    await expect(source.get('other')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('revalidates in the background after the interval, serving the held one meanwhile', async () => {
    let now = 1_000_000;
    const store = new InMemoryDatafileStore();
    const files = new Map([['k3', withRevision(1)]]);
    const counter = { requests: 0 };
    const source = new DatafileSource({
      store,
      urlTemplate: 'https://cdn.test/%s.json',
      revalidateMs: 60_000,
      fetchFn: fakeCdn(files, counter),
      now: () => now,
    });
    expect((await source.get('k3')).revision).toBe(1);
    files.set('k3', withRevision(2));
    now += 30_000;
    expect((await source.get('k3')).revision).toBe(1);
    expect(counter.requests).toBe(1);
    now += 31_000;
    expect((await source.get('k3')).revision).toBe(1);
    await source.settled();
    expect((await source.get('k3')).revision).toBe(2);
    expect(store.items.get('k3')?.revision).toBe(2);
    now += 61_000;
    await source.get('k3');
    await source.settled();
    // Unchanged: a conditional GET answered 304.
    expect(counter.requests).toBe(3);
    expect((await source.get('k3')).revision).toBe(2);
  });
});

describe('CapturingEventDispatcher', () => {
  const envelope = {
    account_id: '1',
    project_id: '2',
    revision: '3',
    client_name: 'node-sdk',
    client_version: '6',
    anonymize_ip: true,
    enrich_decisions: true,
  };
  const event = (project: string, visitor: string) => ({
    url: 'https://logx.optimizely.com/v1/events',
    httpVerb: 'POST' as const,
    params: {
      ...envelope,
      project_id: project,
      visitors: [{ visitor_id: visitor, attributes: [], snapshots: [] }],
    } as never,
  });

  it('merges one request’s events per project into one batch each, sending nothing itself', () => {
    const dispatcher = new CapturingEventDispatcher();
    const { batches } = now(
      dispatcher.capture(() => {
        for (const [p, v] of [
          ['2', 'a'],
          ['2', 'b'],
          ['9', 'c'],
        ] as const)
          void dispatcher.dispatchEvent(event(p, v));
      }),
    );
    expect(batches.map((b) => [b.project_id, b.visitors.map((v) => v.visitor_id)])).toEqual([
      ['2', ['a', 'b']],
      ['9', ['c']],
    ]);
  });

  it('keeps concurrent requests apart', async () => {
    const dispatcher = new CapturingEventDispatcher();
    const [first, second] = await Promise.all([
      Promise.resolve().then(() =>
        now(dispatcher.capture(() => void dispatcher.dispatchEvent(event('2', 'a')))),
      ),
      Promise.resolve().then(() =>
        now(dispatcher.capture(() => void dispatcher.dispatchEvent(event('2', 'b')))),
      ),
    ]);
    expect(first.batches[0]?.visitors.map((v) => v.visitor_id)).toEqual(['a']);
    expect(second.batches[0]?.visitors.map((v) => v.visitor_id)).toEqual(['b']);
  });

  it('returns no batch (and allocates none) when nothing was dispatched', () => {
    const dispatcher = new CapturingEventDispatcher();
    expect(now(dispatcher.capture(() => 42))).toEqual({ result: 42, batches: [] });
  });
});

describe('projects held in the container', () => {
  it('answers a held project at once, and nothing before the load, for another key, or after a new revision', async () => {
    let now = 1_000_000;
    const store = new InMemoryDatafileStore();
    const files = new Map([['h1', withRevision(1)]]);
    const source = new DatafileSource({
      store,
      urlTemplate: 'https://cdn.test/%s.json',
      revalidateMs: 60_000,
      fetchFn: fakeCdn(files, { requests: 0 }),
      now: () => now,
    });
    const projects = createProjectRegistry({ source, dispatcher: new CapturingEventDispatcher() });
    expect(projects.getHeld?.('h1')).toBeUndefined();
    const loaded = await projects.get('h1');
    expect(projects.getHeld?.('h1')).toBe(loaded);
    expect(projects.getHeld?.('other')).toBeUndefined();
    expect(projects.getHeld?.('../etc')).toBeUndefined();
    // Past the interval it still answers the held project, and revalidates as `get` would.
    files.set('h1', withRevision(2));
    now += 61_000;
    expect(projects.getHeld?.('h1')).toBe(loaded);
    await source.settled();
    // The source now holds revision 2: no client is built for it yet, so `get` builds one.
    expect(projects.getHeld?.('h1')).toBeUndefined();
    const updated = await projects.get('h1');
    expect(updated.revision).toBe(2);
    expect(projects.getHeld?.('h1')).toBe(updated);
  });
});

describe('projects and personal attributes', () => {
  it('withholds declared attributes that look personal, and says so once at load', async () => {
    const lines: Record<string, unknown>[] = [];
    const observability = createObservability({
      level: 'warn',
      metrics: 'off',
      write: (_level, line) => lines.push(JSON.parse(line)),
    });
    const datafile = JSON.parse(sampleDatafile()) as { attributes: { id: string; key: string }[] };
    datafile.attributes.push({ id: '91', key: 'Email' }, { id: '92', key: 'first_name' });
    const store = new InMemoryDatafileStore();
    await store.put({ sdkKey: 'p1', datafile: JSON.stringify(datafile), revision: 1, fetchedAt: Date.now() });
    const projects = createProjectRegistry({
      source: new DatafileSource({ store, urlTemplate: 'https://cdn.test/%s.json', revalidateMs: 60_000 }),
      dispatcher: new CapturingEventDispatcher(),
      personalAttributes: ['email', 'first_name', 'phone'],
      observability,
    });
    const project = await projects.get('p1');
    await projects.get('p1');
    expect(project.declaredAttributes.has('Email')).toBe(true);
    expect(project.forwardedAttributes.has('Email')).toBe(false);
    expect(project.forwardedAttributes.has('first_name')).toBe(false);
    expect(project.forwardedAttributes.has('plan')).toBe(true);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', sdkKey: 'p1', attributes: ['Email', 'first_name'] }),
    ]);
  });
});

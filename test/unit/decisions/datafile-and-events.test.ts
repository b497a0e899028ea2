import { describe, expect, it } from '@jest/globals';
import { DependencyUnavailableError, UnknownProjectError } from '../../../functions/core/errors';
import { createObservability } from '../../../functions/observability/logger';
import { DatafileSource, UNKNOWN_SDK_KEY } from '../../../functions/optimizely/datafile-source';
import { FlushingEventDispatcher } from '../../../functions/optimizely/event-dispatcher';
import { createProjectRegistry } from '../../../functions/optimizely/projects';
import { InMemoryDatafileStore, sampleDatafile } from '../../support/decisions';

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

describe('FlushingEventDispatcher', () => {
  const event = {
    url: 'https://logx.optimizely.com/v1/events',
    httpVerb: 'POST' as const,
    params: { visitors: [] } as never,
  };

  it('waits for every delivery of the captured work and retries a failed one once', async () => {
    let calls = 0;
    const fetchFn = (async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return new Response(null, { status: calls === 1 ? 503 : 204 });
    }) as typeof fetch;
    const dispatcher = new FlushingEventDispatcher({ endpoint: 'http://127.0.0.1:9/e', fetchFn });
    const { delivery } = await dispatcher.capture(() => {
      void dispatcher.dispatchEvent(event);
    });
    expect(delivery).toEqual({ dispatched: 1, failed: 0, errors: [] });
    expect(calls).toBe(2);
  });

  it('reports deliveries that still fail', async () => {
    const fetchFn = (async () => {
      throw new Error('connection refused');
    }) as typeof fetch;
    const dispatcher = new FlushingEventDispatcher({ endpoint: 'http://127.0.0.1:9/e', fetchFn });
    const { delivery } = await dispatcher.capture(() => {
      void dispatcher.dispatchEvent(event);
      void dispatcher.dispatchEvent(event);
    });
    expect(delivery.failed).toBe(2);
    expect(delivery.errors[0]).toMatch(/connection refused/);
  });
});

describe('FlushingEventDispatcher batching', () => {
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

  it('merges one request’s events per project into one POST each', async () => {
    const bodies: { project_id: string; visitors: { visitor_id: string }[] }[] = [];
    const fetchFn = (async (_url: string | URL | Request, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const dispatcher = new FlushingEventDispatcher({ endpoint: 'http://127.0.0.1:9/e', fetchFn });
    const { delivery } = await dispatcher.capture(() => {
      for (const [p, v] of [
        ['2', 'a'],
        ['2', 'b'],
        ['9', 'c'],
      ] as const)
        void dispatcher.dispatchEvent(event(p, v));
    });
    expect(delivery).toEqual({ dispatched: 3, failed: 0, errors: [] });
    expect(bodies.map((b) => [b.project_id, b.visitors.map((v) => v.visitor_id)])).toEqual([
      ['2', ['a', 'b']],
      ['9', ['c']],
    ]);
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
      dispatcher: new FlushingEventDispatcher({ endpoint: 'http://127.0.0.1:9/v1/events' }),
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

/**
 * Optimizely's edges, on loopback: the event API (POST /v1/events), the datafile CDN
 * (GET /datafiles/<sdkKey>.json, 403 for unknown keys as the CDN answers) and a stand-in for the
 * CMAB prediction service (POST /predict/<ruleId>, a deterministic variation of the rule). `npm
 * start` mounts them under /local/optimizely so a local run never writes into a real Optimizely
 * project unless OPTIMIZELY_EVENT_ENDPOINT says so; `npm run invoke`, the tests and the bench run
 * them as a server of their own. Every event batch and prediction request received is kept
 * (bounded) and can be logged.
 */
import { createHash } from 'node:crypto';
import { serveOnLoopback } from './loopback-server';
import type { LocalAnswer, LocalRoute } from './server';

export interface EventVisitor {
  visitor_id: string;
  attributes: { key: string; value: unknown; entity_id?: string; type?: string }[];
  snapshots: { decisions?: unknown[]; events: { key: string; uuid?: string; tags?: unknown }[] }[];
}

export interface EventBatch {
  visitors: EventVisitor[];
  [key: string]: unknown;
}

/** One instance of a CMAB prediction request, as the Optimizely SDK sends it. */
export interface PredictionInstance {
  visitorId: string;
  experimentId: string;
  attributes: { id: string; value: unknown; type: string }[];
  cmabUUID: string;
}

export interface PredictionRequest {
  ruleId: string;
  instances: PredictionInstance[];
}

export interface LocalOptimizelyOptions {
  /** SDK key → datafile text served by the CDN (and searched for the variations of a CMAB rule). */
  datafiles?: Map<string, string>;
  /** Called once per accepted batch (npm start logs a line). */
  onBatch?: (batch: EventBatch) => void;
  /** Called once per prediction request received. */
  onPrediction?: (request: PredictionRequest) => void;
  /** Batches (and prediction requests) kept in memory, newest last. */
  keep?: number;
}

export class LocalOptimizely {
  readonly datafiles: Map<string, string>;
  readonly batches: EventBatch[] = [];
  /** Totals since start (batches beyond `keep` are dropped from `batches`, not from these). */
  readonly received = { batches: 0, visitors: 0, events: 0, predictions: 0 };
  /** Status the event API answers; tests set 5xx to simulate an outage. */
  eventStatus = 200;
  /** Delay before the event API answers, in ms. */
  eventDelayMs = 0;
  /** Datafile requests received, by SDK key (tests check what was fetched, and what never was). */
  readonly datafileRequests: string[] = [];
  /** CMAB prediction requests received (bounded like `batches`); `received.predictions` counts all. */
  readonly predictions: PredictionRequest[] = [];
  /** Status the prediction stand-in answers; tests set 5xx to simulate a failing service. */
  predictionStatus = 200;
  /** Delay before the prediction stand-in answers, in ms (tests exceed the timeout with it). */
  predictionDelayMs = 0;

  constructor(private readonly options: LocalOptimizelyOptions = {}) {
    this.datafiles = options.datafiles ?? new Map();
  }

  /** Every visitor of every batch received, in arrival order. */
  visitors(): EventVisitor[] {
    return this.batches.flatMap((b) => b.visitors ?? []);
  }

  async receiveEvents(body: string): Promise<LocalAnswer> {
    if (this.eventDelayMs > 0) await new Promise((r) => setTimeout(r, this.eventDelayMs));
    if (this.eventStatus >= 300) return { status: this.eventStatus };
    let batch: EventBatch;
    try {
      batch = JSON.parse(body) as EventBatch;
    } catch {
      return { status: 400 };
    }
    this.batches.push(batch);
    this.received.batches++;
    this.received.visitors += batch.visitors?.length ?? 0;
    for (const visitor of batch.visitors ?? [])
      for (const snapshot of visitor.snapshots ?? []) this.received.events += snapshot.events?.length ?? 0;
    const keep = this.options.keep ?? 10_000;
    if (this.batches.length > keep) this.batches.splice(0, this.batches.length - keep);
    this.options.onBatch?.(batch);
    return { status: 204 };
  }

  serveDatafile(sdkKey: string): LocalAnswer {
    this.datafileRequests.push(sdkKey);
    const datafile = this.datafiles.get(sdkKey);
    if (datafile === undefined) {
      return {
        status: 403,
        headers: { 'content-type': 'application/xml' },
        body: '<Error><Code>AccessDenied</Code></Error>',
      };
    }
    return { status: 200, headers: { 'content-type': 'application/json' }, body: datafile };
  }

  /**
   * The prediction service's answer, `{"predictions":[{"variation_id":"…"}]}`, for a rule of any
   * datafile this stand-in serves: one of the rule's variations, picked by a hash of the visitor,
   * the rule and the attributes sent (the same request always gets the same variation). 404 for a
   * rule it does not know.
   */
  async predict(ruleId: string, body: string): Promise<LocalAnswer> {
    let request: PredictionRequest;
    try {
      request = { ruleId, instances: (JSON.parse(body) as { instances: PredictionInstance[] }).instances };
    } catch {
      return { status: 400 };
    }
    this.predictions.push(request);
    this.received.predictions++;
    const keep = this.options.keep ?? 10_000;
    if (this.predictions.length > keep) this.predictions.splice(0, this.predictions.length - keep);
    this.options.onPrediction?.(request);
    if (this.predictionDelayMs > 0) await new Promise((r) => setTimeout(r, this.predictionDelayMs));
    if (this.predictionStatus >= 300) return { status: this.predictionStatus };
    const variations = this.ruleVariations(ruleId);
    const instance = request.instances?.[0];
    if (!variations || variations.length === 0 || !instance) return { status: 404 };
    const seed = JSON.stringify([instance.visitorId, ruleId, instance.attributes]);
    const index = createHash('sha256').update(seed).digest().readUInt32BE(0) % variations.length;
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ predictions: [{ variation_id: variations[index] }] }),
    };
  }

  /** Variation ids of the experiment `ruleId` in any datafile served, or undefined. */
  private ruleVariations(ruleId: string): string[] | undefined {
    for (const text of this.datafiles.values()) {
      try {
        const datafile = JSON.parse(text) as {
          experiments?: { id: string; variations: { id: string }[] }[];
          groups?: { experiments?: { id: string; variations: { id: string }[] }[] }[];
        };
        const experiments = [
          ...(datafile.experiments ?? []),
          ...(datafile.groups ?? []).flatMap((g) => g.experiments ?? []),
        ];
        const found = experiments.find((e) => e.id === ruleId);
        if (found) return found.variations.map((v) => v.id);
      } catch {
        // not a datafile: nothing to find in it
      }
    }
    return undefined;
  }

  /**
   * The routes under `prefix` (e.g. `/local/optimizely`), for the local server, and
   * `GET <prefix>/stats`: the totals received, for a soak run in another process.
   */
  routes(prefix = ''): LocalRoute[] {
    const escaped = prefix.replace(/[/.]/g, (c) => `\\${c}`);
    return [
      {
        method: 'GET',
        path: new RegExp(`^${escaped}/stats$`),
        handle: () => ({
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(this.received),
        }),
      },
      {
        method: 'POST',
        path: new RegExp(`^${escaped}/v1/events$`),
        handle: ({ body }) => this.receiveEvents(body),
      },
      {
        method: 'GET',
        path: new RegExp(`^${escaped}/datafiles/([^/]+)\\.json$`),
        handle: ({ match }) => this.serveDatafile(decodeURIComponent(match[1] ?? '')),
      },
      {
        method: 'POST',
        path: new RegExp(`^${escaped}/predict/([^/]+)$`),
        handle: ({ match, body }) => this.predict(decodeURIComponent(match[1] ?? ''), body),
      },
    ];
  }
}

/** One line per event batch: who, how many decisions, which conversions. */
export function describeBatch(batch: EventBatch): string {
  const visitors = batch.visitors ?? [];
  let decisions = 0;
  const conversions: string[] = [];
  for (const visitor of visitors) {
    for (const snapshot of visitor.snapshots ?? []) {
      decisions += snapshot.decisions?.length ?? 0;
      for (const event of snapshot.events ?? [])
        if (event.key !== 'campaign_activated') conversions.push(event.key);
    }
  }
  const ids = [...new Set(visitors.map((v) => v.visitor_id))];
  const parts = [`${visitors.length} visitor(s) [${ids.join(', ')}]`, `${decisions} decision(s)`];
  if (conversions.length > 0) parts.push(`conversions: ${conversions.join(', ')}`);
  return parts.join(', ');
}

export interface LocalOptimizelyServer {
  optimizely: LocalOptimizely;
  url: string;
  eventEndpoint: string;
  datafileUrlTemplate: string;
  /** OPTIMIZELY_CMAB_PREDICTION_ENDPOINT for this stand-in. */
  predictionEndpointTemplate: string;
  close(): Promise<void>;
}

/** The same two endpoints as a server of their own on a free loopback port. */
export async function startLocalOptimizely(
  options: LocalOptimizelyOptions = {},
): Promise<LocalOptimizelyServer> {
  const optimizely = new LocalOptimizely(options);
  const routes = optimizely.routes();
  const { url, close } = await serveOnLoopback(({ req, url, body }) => {
    const route = routes.find((r) => r.method === req.method && r.path.test(url.pathname));
    const match = route?.path.exec(url.pathname);
    return route && match ? route.handle({ url, body, match, headers: req.headers }) : { status: 404 };
  });
  return {
    optimizely,
    url,
    eventEndpoint: `${url}/v1/events`,
    datafileUrlTemplate: `${url}/datafiles/%s.json`,
    predictionEndpointTemplate: `${url}/predict/%s`,
    close,
  };
}

/**
 * Work that must finish inside the invocation but need not delay the response (Optimizely events).
 *
 * In Lambda this registers an internal extension: the function's own process speaks the Extensions
 * API. Lambda returns the response as soon as the runtime posts it, but ends the invocation (and
 * freezes the process) only once every extension has asked for its next event. So on each INVOKE the
 * extension waits until the handler reports `finished`, then until the deferred work has settled,
 * and only then asks for the next event; going straight back would race the handler. Billed
 * duration includes that flush. Outside Lambda nothing freezes the process: work runs at once and
 * whoever plays the runtime (the local server) awaits `drain()` after answering.
 *
 * One instance per container, built at init by the entry's dependencies; in Lambda the entry module
 * must `await afterResponse.ready` at top level, because Lambda accepts registrations only during
 * init, which ends when the runtime first asks for an invocation. Internal extensions get no
 * SHUTDOWN event: work still pending when the environment goes away is lost, so what must survive
 * that is stored before answering (docs/events.md).
 */
import type { Logger } from '../observability/logger';
import { callRuntimeApi, type RuntimeApiAnswer } from './runtime-api';

/** 'unavailable': in Lambda, but no extension holds the invocation open; deferring is not safe. */
export type AfterResponseMode = 'extension' | 'in-process' | 'unavailable';

export interface AfterResponse {
  /**
   * Starts `work` now; the invocation does not end before it settles. Never rejects outward:
   * failures are logged. When `mode` is 'unavailable', await the work yourself before answering
   * instead. (No request id: Lambda runs one invocation at a time per environment, so everything
   * pending belongs to the invocation the extension holds; log lines carry the request's context.)
   */
  defer(work: () => Promise<unknown>): void;
  /** The handler for `requestId` is done (its response is about to be posted); call exactly once, also on errors. */
  finished(requestId: string): void;
  /** Resolves when every deferred work item has settled, including items deferred meanwhile. */
  drain(): Promise<void>;
  /** 'unavailable' until registration has completed, so read it per request, not at init. */
  readonly mode: AfterResponseMode;
  /** Settles (never rejects) with the mode once registration has succeeded or failed. */
  readonly ready: Promise<AfterResponseMode>;
}

export interface AfterResponseOptions {
  /** host:port of the Runtime API (AWS_LAMBDA_RUNTIME_API, read by the entry). Empty or absent: 'in-process'. */
  runtimeApi?: string | undefined;
  /** Sent as `Lambda-Extension-Name`. */
  name?: string;
  logger: Logger;
  /** The extension lets go this long before the deadline: a timed-out invocation resets the environment. */
  marginMs?: number;
}

const EXTENSION_API = '/2020-01-01/extension';
const DEFAULT_MARGIN_MS = 300;
/** Bound for an INVOKE without a numeric deadline, which the docs never show, but waiting must end. */
const FALLBACK_WAIT_MS = 10_000;
/** Finishes that came before their INVOKE reached the extension (both leave Lambda at once). */
const REMEMBERED_FINISHES = 16;

export function createAfterResponse(options: AfterResponseOptions): AfterResponse {
  const runtimeApi = options.runtimeApi ?? '';
  const margin = options.marginMs ?? DEFAULT_MARGIN_MS;
  const { logger } = options;
  const log = (message: string, fields?: Record<string, unknown>): void => {
    try {
      logger.warn(message, fields);
    } catch {
      // A broken logger must not turn settled work into a rejection.
    }
  };
  const pending = new Set<Promise<void>>();
  const finishedEarly = new Set<string>();
  let holding: { requestId: string; release: () => void } | undefined;
  let mode: AfterResponseMode = runtimeApi ? 'unavailable' : 'in-process';

  async function drain(): Promise<void> {
    // Settled items leave the set before Promise.all's own reaction runs (registered first).
    while (pending.size > 0) await Promise.all(pending);
  }

  /** One INVOKE: hold it until the handler is done and the work settled, or the deadline nears. */
  async function holdInvocation(requestId: string, deadlineMs: unknown): Promise<void> {
    // Unix ms as clients read it; the docs' sample (676051) reads like time left, so take that too.
    const left =
      typeof deadlineMs !== 'number'
        ? FALLBACK_WAIT_MS
        : deadlineMs > 1e12
          ? deadlineMs - Date.now()
          : deadlineMs;
    const budget = left - margin;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, budget), 'expired');
    });
    try {
      const handlerDone = finishedEarly.delete(requestId)
        ? Promise.resolve('done' as const)
        : new Promise<'done'>((resolve) => {
            holding = { requestId, release: () => resolve('done') };
          });
      if ((await Promise.race([handlerDone, expired])) === 'expired') {
        log('after-response: handler did not report finished before the deadline', { requestId });
      }
      if ((await Promise.race([drain(), expired])) === 'expired') {
        log('after-response: deferred work still pending at the deadline; ending the invocation', {
          requestId,
          pending: pending.size,
        });
      }
    } finally {
      holding = undefined;
      clearTimeout(timer);
    }
  }

  async function serve(extensionId: string): Promise<never> {
    for (;;) {
      const next = await call(runtimeApi, 'GET', `${EXTENSION_API}/event/next`, {
        'Lambda-Extension-Identifier': extensionId,
      });
      if (next.status !== 200)
        throw new Error(`event/next answered ${next.status}: ${next.body.slice(0, 200)}`);
      const event = JSON.parse(next.body) as { eventType?: string; requestId?: string; deadlineMs?: unknown };
      // Internal extensions get no SHUTDOWN; anything else is skipped rather than trusted.
      if (event.eventType === 'INVOKE' && typeof event.requestId === 'string') {
        await holdInvocation(event.requestId, event.deadlineMs);
      }
    }
  }

  const ready: Promise<AfterResponseMode> = !runtimeApi
    ? Promise.resolve(mode)
    : register(runtimeApi, options.name ?? 'crosswalk-after-response').then(
        (extensionId) => {
          mode = 'extension';
          // Init ends only when every registered extension has asked for its next event: ask now.
          serve(extensionId).catch((error: unknown) => {
            mode = 'unavailable';
            log('after-response: extension stopped; events are now delivered before answering', {
              error: messageOf(error),
            });
          });
          return mode;
        },
        (error: unknown) => {
          log('after-response: extension registration failed; events are delivered before answering', {
            error: messageOf(error),
          });
          return mode;
        },
      );

  return {
    get mode() {
      return mode;
    },
    ready,
    drain,
    defer(work) {
      const settled = Promise.resolve()
        .then(work)
        .then(
          () => undefined,
          (error: unknown) => log('after-response: deferred work failed', { error: messageOf(error) }),
        );
      pending.add(settled);
      void settled.then(() => pending.delete(settled));
    },
    finished(requestId) {
      if (holding?.requestId === requestId) {
        holding.release();
      } else if (mode === 'extension') {
        finishedEarly.add(requestId);
        // Sets iterate in insertion order: drop the oldest so a missed INVOKE cannot grow this.
        if (finishedEarly.size > REMEMBERED_FINISHES)
          finishedEarly.delete(finishedEarly.values().next().value!);
      }
    },
  };
}

async function register(runtimeApi: string, name: string): Promise<string> {
  const answer = await call(
    runtimeApi,
    'POST',
    `${EXTENSION_API}/register`,
    { 'Lambda-Extension-Name': name, 'Content-Type': 'application/json' },
    // Internal extensions may not register for SHUTDOWN (the register call would fail).
    JSON.stringify({ events: ['INVOKE'] }),
  );
  const id = answer.headers['lambda-extension-identifier'];
  if (answer.status !== 200 || typeof id !== 'string') {
    throw new Error(`register answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  }
  return id;
}

/**
 * A fresh connection each time (agent: false): two calls per invocation on loopback cost little,
 * and a reused keep-alive socket could meet a server-side close.
 */
function call(
  runtimeApi: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RuntimeApiAnswer> {
  return callRuntimeApi({ runtimeApi, method, path, headers, body, agent: false });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one import of the Optimizely SDK: its `universal` entry, which takes the request handler it
 * calls the CMAB prediction service with (the Node entry always uses its own, whose timeout is
 * 60 s). Everything from the SDK comes from here: config managers and event processors are opaque
 * objects of one entry's bundle, and handing one entry's to another's `createInstance` fails
 * ("Invalid config manager").
 */
import type { RequestHandler } from '@optimizely/optimizely-sdk/universal';
import type { OutboundFetch } from '../platform/http/outbound';

export {
  type Client,
  createForwardingEventProcessor,
  createInstance,
  createStaticProjectConfigManager,
  type EventDispatcher,
  type LogEvent,
  type OptimizelyConfig,
  OptimizelyDecideOption,
  type OptimizelyDecision,
  type OptimizelyExperiment,
  type OptimizelyFeature,
  type OptimizelyUserContext,
  type OptimizelyVariable,
  type OptimizelyVariation,
  type RequestHandler,
  type UserProfile,
  type UserProfileService,
} from '@optimizely/optimizely-sdk/universal';

/** What the Node entry reports as its engine; events keep saying `node-sdk`. */
export const CLIENT_ENGINE = 'node-sdk';

/**
 * The SDK's request handler on Crosswalk's outbound HTTP, each request bounded by `timeoutMs`
 * (a timeout rejects, which the SDK treats as a failed prediction: one retry, then its error
 * decision). Used by the SDK for CMAB predictions only: datafiles and events never go through it.
 */
export function boundedRequestHandler(fetchFn: OutboundFetch, timeoutMs: number): RequestHandler {
  return {
    makeRequest(url, headers, method, data): ReturnType<RequestHandler['makeRequest']> {
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new Error(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const sent: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) sent[name] = value;
      const responsePromise = fetchFn(url, {
        method,
        headers: sent,
        ...(data === undefined ? {} : { body: data }),
        signal: controller.signal,
      })
        .then(async (response) => ({
          statusCode: response.status,
          body: await response.text(),
          headers: {},
        }))
        .finally(() => clearTimeout(timer));
      return { abort: () => controller.abort(), responsePromise };
    },
  };
}

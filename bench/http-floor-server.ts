/**
 * The floor of `http_decide_rps`: a plain `node:http` server doing the least a decide server must do,
 * run as its own process like `npm start` and loaded the same way (bench/http-floor.ts). It reads the
 * same request body, decides the flag with the Optimizely SDK on the same datafile (the person's
 * anonymous id as the user id, no identity resolution), sends the events to the same loopback sink
 * through the SDK's batch event processor with its default batching, and answers the decision as
 * JSON. No API keys, validation, identity cache, Agent shapes or outbox.
 *
 *   PORT=… FLOOR_DATAFILE=path FLOOR_EVENT_ENDPOINT=url node --import tsx bench/http-floor-server.ts
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import {
  createBatchEventProcessor,
  createInstance,
  createStaticProjectConfigManager,
} from '@optimizely/optimizely-sdk/universal';
import { outboundFetch } from '../src/platform/http/outbound';

const endpoint = process.env.FLOOR_EVENT_ENDPOINT as string;
const client = createInstance({
  projectConfigManager: createStaticProjectConfigManager({
    datafile: readFileSync(process.env.FLOOR_DATAFILE as string, 'utf8'),
  }),
  eventProcessor: createBatchEventProcessor({
    eventDispatcher: {
      dispatchEvent: async (event) => {
        const response = await outboundFetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event.params),
        });
        await response.text();
        return { statusCode: response.status };
      },
    },
  }),
  requestHandler: {
    makeRequest: () => ({
      abort: () => undefined,
      responsePromise: Promise.reject(new Error('no requests')),
    }),
  },
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      identifiers: { anonymous_id: string };
      userAttributes: Record<string, string>;
    };
    const key = new URL(req.url ?? '/', 'http://floor').searchParams.get('keys') as string;
    const decision = client
      .createUserContext(body.identifiers.anonymous_id, body.userAttributes)
      ?.decide(key);
    res.writeHead(200, { 'content-type': 'application/json' });
    // The decision's own fields (its user context holds the client, which does not serialise).
    res.end(
      JSON.stringify({
        variationKey: decision?.variationKey ?? null,
        enabled: decision?.enabled ?? false,
        ruleKey: decision?.ruleKey ?? null,
        flagKey: key,
        variables: decision?.variables ?? {},
      }),
    );
  });
});

await client.onReady();
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('Crosswalk is running (floor)'));
process.on('SIGINT', () => {
  server.close();
  void client.close();
  process.exit(0);
});

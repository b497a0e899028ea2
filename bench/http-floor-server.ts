/**
 * The floors of `http_decide_rps`: a plain `node:http` server doing the least a decide server must
 * do, run as its own process like `npm start` and loaded the same way (bench/http-floor.ts). It reads
 * the same request body, decides the flag with the Optimizely SDK on the same datafile (the person's
 * anonymous id as the user id, no identity resolution) and answers the decision as JSON. No API keys,
 * validation, identity cache or Agent shapes. Its events go one of two ways:
 *
 * - **in memory** (the issue's floor): to the same loopback sink through the SDK's batch event
 *   processor with its default batching, after the answer;
 * - **durable** (`FLOOR_DURABLE_TABLE` set): each decide's event payload, gzipped, is written to a
 *   table of the same engine and shape as the outbox (stream on), and the answer waits for it, as
 *   Crosswalk's decide does; nothing is sent on (delivering them is the relay's work, not counted
 *   here). Writes share requests through Crosswalk's own group writer (src/platform/dynamodb/
 *   group-writer.ts): a write with none in flight goes at once, those arriving meanwhile together in
 *   `BatchWriteItem`s of 25. The least a server must do to keep its decisions' events through a crash.
 *
 *   PORT=… FLOOR_DATAFILE=path FLOOR_EVENT_ENDPOINT=url [FLOOR_DURABLE_TABLE=name DYNAMODB_ENDPOINT=url]
 *     node --import tsx bench/http-floor-server.ts
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import {
  createBatchEventProcessor,
  createForwardingEventProcessor,
  createInstance,
  createStaticProjectConfigManager,
  type EventDispatcher,
} from '@optimizely/optimizely-sdk/universal';
import { createDynamoDbClient } from '../src/platform/dynamodb/client';
import { GroupWriter } from '../src/platform/dynamodb/group-writer';
import { outboundFetch } from '../src/platform/http/outbound';

const endpoint = process.env.FLOOR_EVENT_ENDPOINT as string;
const durableTable = process.env.FLOOR_DURABLE_TABLE;

const toSink: EventDispatcher = {
  dispatchEvent: async (event) => {
    const response = await outboundFetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event.params),
    });
    await response.text();
    return { statusCode: response.status };
  },
};

/** Durable mode: the write of the decide running now (the forwarding processor dispatches synchronously). */
let pendingWrite: Promise<unknown> | undefined;
const dynamo = durableTable ? createDynamoDbClient({ endpoint: process.env.DYNAMODB_ENDPOINT }) : undefined;
// Crosswalk's own grouping of concurrent writes, so the two servers differ in everything but it.
const writer = dynamo && durableTable ? new GroupWriter(dynamo, durableTable) : undefined;

const toTable: EventDispatcher = {
  dispatchEvent: (event) => {
    const id = randomUUID();
    const item = {
      pk: { S: `floor#${id.charCodeAt(0) % 8}` },
      sk: { S: `${Date.now()}#${id}` },
      batch: { B: gzipSync(JSON.stringify(event.params)) },
      expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
    };
    const written = (writer as GroupWriter).write([{ PutRequest: { Item: item } }]);
    pendingWrite = written;
    return written.then(() => ({ statusCode: 200 }));
  },
};

const client = createInstance({
  projectConfigManager: createStaticProjectConfigManager({
    datafile: readFileSync(process.env.FLOOR_DATAFILE as string, 'utf8'),
  }),
  eventProcessor: durableTable
    ? createForwardingEventProcessor(toTable)
    : createBatchEventProcessor({ eventDispatcher: toSink }),
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
    pendingWrite = undefined;
    const decision = client
      .createUserContext(body.identifiers.anonymous_id, body.userAttributes)
      ?.decide(key);
    const answer = () => {
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
    };
    // A decide that dispatched nothing answers at once, as Crosswalk's does.
    const write = pendingWrite as Promise<unknown> | undefined; // set by the decide above
    if (write)
      write.then(answer, (error: unknown) => {
        res.writeHead(503);
        res.end(String(error));
      });
    else answer();
  });
});

await client.onReady();
server.listen(Number(process.env.PORT), '127.0.0.1', () =>
  console.log(`Crosswalk is running (floor${durableTable ? ', durable' : ''})`),
);
process.on('SIGINT', () => {
  server.close();
  void client.close();
  dynamo?.destroy();
  process.exit(0);
});

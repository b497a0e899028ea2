/**
 * `npm run segment -- <event.json | ->`: sends a Segment event (or a JSON array of them) to a running
 * Crosswalk's webhook, signed the way Segment signs it (X-Signature: HMAC-SHA1 with
 * SEGMENT_SHARED_SECRET, default npm start's dev-segment-secret), with the webhook token
 * (SEGMENT_WEBHOOK_TOKEN, default dev-webhook-token). Prints the answer; exits 1 unless it is a 200.
 */
import { readFileSync } from 'node:fs';
import { sendSegment } from './demo/client';
import { LOCAL_SEGMENT_SECRET, LOCAL_SEGMENT_TOKEN } from './local/local-stack';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('Usage: npm run segment -- <event.json | ->   (- reads standard input)');
  process.exit(2);
}
let events: unknown;
try {
  events = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
} catch (error) {
  console.error(`crosswalk segment: cannot read ${file}: ${(error as Error).message}`);
  process.exit(2);
}
const url = process.env.CROSSWALK_URL ?? `http://127.0.0.1:${process.env.PORT || 3000}`;
sendSegment(
  {
    url,
    segmentSecret: process.env.SEGMENT_SHARED_SECRET || LOCAL_SEGMENT_SECRET,
    segmentToken: process.env.SEGMENT_WEBHOOK_TOKEN || LOCAL_SEGMENT_TOKEN,
  },
  events,
).then(
  (answer) => {
    console.log(`${answer.status} ${JSON.stringify(answer.body)}`);
    process.exit(answer.status === 200 ? 0 : 1);
  },
  (error: unknown) => {
    console.error(`crosswalk segment: ${(error as Error).message} (is npm start running at ${url}?)`);
    process.exit(1);
  },
);

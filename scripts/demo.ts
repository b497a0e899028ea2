/**
 * `npm run demo`: with `npm start` running, sends the demo story through the signed Segment webhook
 * and prints each flag's decision for every identifier side by side. Uses npm start's local
 * defaults (http://127.0.0.1:$PORT, API key dev-key, operator key dev-admin-key, Segment secret
 * dev-segment-secret) unless CROSSWALK_URL, API_KEYS, ADMIN_API_KEYS, SEGMENT_SHARED_SECRET or
 * SEGMENT_WEBHOOK_TOKEN say otherwise (token default dev-webhook-token). Then decides twice for
 * Chiara, whom only Segment's Profile API (npm start's local stand-in) knows.
 */

import { formatDemo, runDemo } from './demo/run-demo';
import {
  LOCAL_ADMIN_API_KEY,
  LOCAL_API_KEY,
  LOCAL_SEGMENT_SECRET,
  LOCAL_SEGMENT_TOKEN,
} from './local/local-stack';

const url = process.env.CROSSWALK_URL ?? `http://127.0.0.1:${process.env.PORT || 3000}`;
const options = {
  url,
  apiKey: process.env.API_KEYS?.split(',')[0]?.trim() || LOCAL_API_KEY,
  adminKey: process.env.ADMIN_API_KEYS?.split(',')[0]?.trim() || LOCAL_ADMIN_API_KEY,
  segmentSecret: process.env.SEGMENT_SHARED_SECRET || LOCAL_SEGMENT_SECRET,
  segmentToken: process.env.SEGMENT_WEBHOOK_TOKEN || LOCAL_SEGMENT_TOKEN,
};

runDemo(options).then(
  (result) => {
    const { accepted, duplicates, rejected } = result.ingest;
    console.log(
      `Sent the demo story to ${url}/webhooks/segment: ${accepted} accepted, ${duplicates} already there, ${rejected.length} rejected.\n`,
    );
    console.log(formatDemo(result));
  },
  (error: unknown) => {
    const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
    console.error(
      refused
        ? `crosswalk demo: nothing answers at ${url}; start Crosswalk first (npm start), or set CROSSWALK_URL`
        : `crosswalk demo: ${(error as Error).message}`,
    );
    process.exit(1);
  },
);

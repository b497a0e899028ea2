/**
 * "The graph equals a fault-free run": the same Segment batches ingested without faults into a
 * fresh table of the run's DynamoDB Local, and every person's profile compared through the operator
 * lookup (GET /v1/identities/user_id/…), which shows identifiers, traits, audiences and accounts.
 */
import { SegmentSender } from '../../bench/lib/traffic';
import { startTestApp } from './app';
import { createTestTable } from './dynamodb';

/** Every person's profile as the operator lookup shows it, by user id (null when unknown). */
export async function profilesByUserId(
  url: string,
  adminKey: string,
  userIds: readonly string[],
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const userId of userIds) {
    const response = await fetch(`${url}/v1/identities/user_id/${encodeURIComponent(userId)}`, {
      headers: { 'x-api-key': adminKey },
    });
    out[userId] = response.status === 404 ? null : await response.json();
  }
  return out;
}

/**
 * The profiles the same events give when nothing fails, sent regrouped into larger batches (as
 * Segment may regroup them between retries), four at a time: the graph depends on neither.
 */
export async function faultFreeProfiles(
  sent: readonly unknown[][],
  userIds: readonly string[],
): Promise<Record<string, unknown>> {
  const events = sent.flat();
  const batches: unknown[][] = [];
  for (let i = 0; i < events.length; i += 150) batches.push(events.slice(i, i + 150));
  const table = await createTestTable('reference');
  const adminKey = 'reference-admin-key';
  const token = 'reference-token';
  const app = await startTestApp({
    TABLE_NAME: table.tableName,
    ADMIN_API_KEYS: adminKey,
    SEGMENT_WEBHOOK_TOKEN: token,
    IDENTITY_CACHE_TTL_MS: '0',
  });
  try {
    const sender = new SegmentSender({ url: app.url, apiKey: adminKey, segmentToken: token });
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const status = await sender.send(batches[next++]!);
        if (status !== 200) throw new Error(`the fault-free run answered ${status}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return await profilesByUserId(app.url, adminKey, userIds);
  } finally {
    await app.close();
    await table.drop();
  }
}

/**
 * The demo itself: sends the story (story.ts) through the signed Segment webhook, then asks for
 * every flag's decision through each of Albert's identifiers and for Bianca, and lays the answers
 * side by side. Returned as data so a test can check what the demo prints.
 */
import { type CrosswalkClientOptions, decide, sendSegment } from './client';
import { ALBERT_IDENTIFIERS, BIANCA, CHIARA, demoEvents } from './story';

interface Decision {
  flagKey: string;
  variationKey: string;
  enabled: boolean;
  userContext: { userId: string };
}

interface Identity {
  canonicalId: string;
  userId: string | null;
  accountId: string | null;
  source: string;
}

export interface DemoResult {
  ingest: { accepted: number; duplicates: number; rejected: unknown[] };
  /** Column labels: `type:value` of each identifier decided with. */
  columns: string[];
  /** Flag key → variation per column. */
  rows: Map<string, string[]>;
  /**
   * Chiara, whom only Segment knows: her first and second decide by anonymous id, as an operator key
   * sees them (the identity block), when the demo has an operator key.
   */
  newcomer?: { first: Identity; second: Identity; attributes: Record<string, unknown> };
}

/** One decide by Chiara's anonymous id, with the identity block (an operator key's). */
async function decideNewcomer(options: CrosswalkClientOptions & { adminKey: string }) {
  const answer = await decide<{ identity: Identity; userContext: { attributes: Record<string, unknown> } }>(
    { ...options, apiKey: options.adminKey },
    { identifiers: { anonymous_id: CHIARA.anonymousId }, decideOptions: ['DISABLE_DECISION_EVENT'] },
    ['team_dashboard'],
    { includeIdentity: true },
  );
  if (answer.status !== 200)
    throw new Error(`decide for Chiara answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export async function runDemo(
  options: CrosswalkClientOptions & { adminKey?: string | undefined },
): Promise<DemoResult> {
  const sent = await sendSegment(options, demoEvents());
  if (sent.status !== 200)
    throw new Error(`the Segment webhook answered ${sent.status}: ${JSON.stringify(sent.body)}`);
  const people: [string, Record<string, unknown>][] = [
    ...ALBERT_IDENTIFIERS.map(([type, value]): [string, Record<string, unknown>] => [
      `${type}:${value}`,
      type === 'user_id' ? { userId: value } : { identifiers: { [type]: value } },
    ]),
    [`user_id:${BIANCA.userId}`, { userId: BIANCA.userId }],
  ];
  const rows = new Map<string, string[]>();
  for (const [column, body] of people) {
    const answer = await decide<Decision[]>(options, { ...body, decideOptions: ['DISABLE_DECISION_EVENT'] });
    if (answer.status !== 200)
      throw new Error(`decide for ${column} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    for (const decision of answer.body) {
      const row = rows.get(decision.flagKey) ?? [];
      row.push(decision.variationKey || '(none)');
      rows.set(decision.flagKey, row);
    }
  }
  const result: DemoResult = {
    ingest: sent.body as DemoResult['ingest'],
    columns: people.map(([c]) => c),
    rows,
  };
  if (options.adminKey) {
    const first = await decideNewcomer({ ...options, adminKey: options.adminKey });
    const second = await decideNewcomer({ ...options, adminKey: options.adminKey });
    result.newcomer = {
      first: first.identity,
      second: second.identity,
      attributes: first.userContext.attributes,
    };
  }
  return result;
}

/** What the demo says about Chiara. */
function describeNewcomer(newcomer: NonNullable<DemoResult['newcomer']>): string[] {
  const { first, second } = newcomer;
  const intro = `Chiara (anonymous_id ${CHIARA.anonymousId}) never came through the webhook; Segment knows her.`;
  if (first.source === 'request') {
    return [
      intro,
      '  1st decide: unknown to Crosswalk, decided on her anonymous id (the Profile API read-through is off or failed; docs/profile-api.md).',
    ];
  }
  const learned =
    first.source === 'profile-api'
      ? 'learned from Segment’s Profile API'
      : 'already in the cache (learned on an earlier run)';
  return [
    intro,
    `  1st decide: ${learned}: user ${first.userId}, account ${first.accountId}, experiment id ${first.canonicalId}, attributes ${JSON.stringify(newcomer.attributes)}`,
    `  2nd decide: from the ${second.source} (no Profile API call), same experiment id ${second.canonicalId}`,
  ];
}

/** The side-by-side table the demo prints. */
export function formatDemo(result: DemoResult): string {
  const width = (i: number) =>
    Math.max(result.columns[i]!.length, ...[...result.rows.values()].map((r) => r[i]!.length));
  const flagWidth = Math.max(4, ...[...result.rows.keys()].map((k) => k.length));
  const line = (first: string, cells: string[]) =>
    [first.padEnd(flagWidth), ...cells.map((c, i) => c.padEnd(width(i)))].join('  ').trimEnd();
  const albert = result.columns.length - 1;
  return [
    line('flag', result.columns),
    ...[...result.rows].map(([flag, cells]) => line(flag, cells)),
    '',
    `Albert's ${albert} identifiers are one person to Crosswalk: each row is the same across his columns.`,
    'team_dashboard is bucketed by account (acme), so Bianca, his colleague, sees the same variation.',
    ...(result.newcomer ? ['', ...describeNewcomer(result.newcomer)] : []),
  ].join('\n');
}

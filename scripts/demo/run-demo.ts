/**
 * The demo itself: sends the story (story.ts) through the signed Segment webhook, then asks for
 * every flag's decision through each of Albert's identifiers and for Bianca, and lays the answers
 * side by side. Returned as data so a test can check what the demo prints.
 */
import { type CrosswalkClientOptions, decide, sendSegment } from './client';
import { ALBERT_IDENTIFIERS, BIANCA, demoEvents } from './story';

interface Decision {
  flagKey: string;
  variationKey: string;
  enabled: boolean;
  userContext: { userId: string };
}

export interface DemoResult {
  ingest: { accepted: number; duplicates: number; rejected: unknown[] };
  /** Column labels: `type:value` of each identifier decided with. */
  columns: string[];
  /** Flag key → variation per column. */
  rows: Map<string, string[]>;
}

export async function runDemo(options: CrosswalkClientOptions): Promise<DemoResult> {
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
  return { ingest: sent.body as DemoResult['ingest'], columns: people.map(([c]) => c), rows };
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
  ].join('\n');
}

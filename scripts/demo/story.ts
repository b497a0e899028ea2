/**
 * The demo's story, as Segment would deliver it: Albert signs up on the web, installs the iPhone app
 * and identifies there with the same email, joins his company's account; his colleague Bianca joins
 * the same account; Engage puts Albert in an audience. `npm run demo` sends it through the signed
 * webhook, the docs' examples use the state it leaves, and a test checks it.
 *
 * Message ids are fixed, so sending the story again changes nothing (Segment's retries behave the
 * same way); timestamps are yesterday's, so the events are always recent.
 */

export const ALBERT = {
  userId: 'albert-123',
  webAnonymousId: 'web-7f3a9c',
  appAnonymousId: 'app-91c2e4',
  iosDeviceId: 'iphone-5c1e88',
  email: 'albert@example.com',
} as const;
export const BIANCA = { userId: 'bianca-456', email: 'bianca@example.com' } as const;
export const ACCOUNT = 'acme';
/**
 * Known to Segment, never sent through Crosswalk's webhook: only its Profile API (locally, the
 * stand-in npm start serves) knows her, so her first decide learns her from it (docs/profile-api.md).
 */
export const CHIARA = {
  userId: 'chiara-789',
  anonymousId: 'web-3b8e21',
  email: 'chiara@example.com',
} as const;

/** Every identifier the story gives Albert, as decide's `identifiers` would carry them. */
export const ALBERT_IDENTIFIERS: [type: string, value: string][] = [
  ['user_id', ALBERT.userId],
  ['anonymous_id', ALBERT.webAnonymousId],
  ['anonymous_id', ALBERT.appAnonymousId],
  ['email', ALBERT.email],
  ['ios.id', ALBERT.iosDeviceId],
];

const web = { library: { name: 'analytics.js', version: '5.2.0' }, ip: '203.0.113.7' };
const ios = {
  library: { name: 'analytics-ios', version: '4.1.8' },
  app: { name: 'Acme Shop', version: '2.3.0' },
  device: { id: ALBERT.iosDeviceId, type: 'ios', model: 'iPhone15,2', manufacturer: 'Apple' },
  os: { name: 'iOS', version: '18.1' },
};

/** The story's Segment events, in the order they happened, timestamped from `day` (epoch ms, 00:00 UTC). */
export function demoEvents(day: number = startOfYesterday()): Record<string, unknown>[] {
  const at = (minutes: number) => new Date(day + minutes * 60_000).toISOString();
  const event = (n: number, minutes: number, fields: Record<string, unknown>) => ({
    messageId: `crosswalk-demo-${n}`,
    timestamp: at(minutes),
    sentAt: at(minutes),
    ...fields,
  });
  return [
    event(1, 9 * 60, {
      type: 'page',
      anonymousId: ALBERT.webAnonymousId,
      name: 'Pricing',
      properties: { path: '/pricing' },
      context: web,
    }),
    event(2, 9 * 60 + 4, {
      type: 'identify',
      userId: ALBERT.userId,
      anonymousId: ALBERT.webAnonymousId,
      traits: { email: ALBERT.email, name: 'Albert Zweistein', plan: 'pro', country: 'DE' },
      context: web,
    }),
    event(3, 12 * 60, {
      type: 'screen',
      anonymousId: ALBERT.appAnonymousId,
      name: 'Home',
      context: ios,
    }),
    event(4, 12 * 60 + 2, {
      type: 'identify',
      anonymousId: ALBERT.appAnonymousId,
      traits: { email: ALBERT.email },
      context: ios,
    }),
    event(5, 13 * 60, {
      type: 'group',
      userId: ALBERT.userId,
      groupId: ACCOUNT,
      traits: { name: 'Acme Inc', plan: 'enterprise', industry: 'Software', seats: 120 },
      context: web,
    }),
    event(6, 14 * 60, {
      type: 'identify',
      userId: BIANCA.userId,
      traits: { email: BIANCA.email, name: 'Bianca Rossi', plan: 'pro', country: 'IT' },
      context: web,
    }),
    event(7, 14 * 60 + 1, {
      type: 'group',
      userId: BIANCA.userId,
      groupId: ACCOUNT,
      context: web,
    }),
    event(8, 15 * 60, {
      type: 'identify',
      userId: ALBERT.userId,
      traits: { high_value_customers: true },
      context: {
        library: { name: 'unknown', version: 'unknown' },
        personas: {
          computation_class: 'audience',
          computation_key: 'high_value_customers',
          space_id: 'spa_demo',
        },
      },
    }),
  ];
}

/** A person as Segment's Profile API describes them (scripts/local/local-profile-api.ts). */
export interface SegmentProfile {
  externalIds: { type: string; id: string; createdAt: string }[];
  traits: Record<string, string | number | boolean | null>;
  traitsUpdatedAt: string;
  accounts: { id: string; createdAt: string }[];
}

/**
 * The story's people as Segment's Profile API knows them, plus Chiara, whom only Segment knows; each
 * identifier first seen when the story first shows it. What `npm start`'s local Profile API serves.
 */
export function segmentProfiles(day: number = startOfYesterday()): {
  people: SegmentProfile[];
  accounts: Record<string, Record<string, string | number | boolean | null>>;
} {
  const at = (minutes: number) => new Date(day + minutes * 60_000).toISOString();
  return {
    people: [
      {
        externalIds: [
          { type: 'anonymous_id', id: ALBERT.webAnonymousId, createdAt: at(9 * 60) },
          { type: 'user_id', id: ALBERT.userId, createdAt: at(9 * 60 + 4) },
          { type: 'email', id: ALBERT.email, createdAt: at(9 * 60 + 4) },
          { type: 'anonymous_id', id: ALBERT.appAnonymousId, createdAt: at(12 * 60) },
          { type: 'ios.id', id: ALBERT.iosDeviceId, createdAt: at(12 * 60) },
        ],
        traits: {
          email: ALBERT.email,
          name: 'Albert Zweistein',
          plan: 'pro',
          country: 'DE',
          high_value_customers: true,
        },
        traitsUpdatedAt: at(15 * 60),
        accounts: [{ id: ACCOUNT, createdAt: at(13 * 60) }],
      },
      {
        externalIds: [
          { type: 'user_id', id: BIANCA.userId, createdAt: at(14 * 60) },
          { type: 'email', id: BIANCA.email, createdAt: at(14 * 60) },
        ],
        traits: { email: BIANCA.email, name: 'Bianca Rossi', plan: 'pro', country: 'IT' },
        traitsUpdatedAt: at(14 * 60),
        accounts: [{ id: ACCOUNT, createdAt: at(14 * 60 + 1) }],
      },
      {
        externalIds: [
          { type: 'anonymous_id', id: CHIARA.anonymousId, createdAt: at(10 * 60) },
          { type: 'user_id', id: CHIARA.userId, createdAt: at(10 * 60 + 30) },
          { type: 'email', id: CHIARA.email, createdAt: at(10 * 60 + 30) },
        ],
        traits: { email: CHIARA.email, name: 'Chiara Neri', plan: 'pro', country: 'ES' },
        traitsUpdatedAt: at(10 * 60 + 30),
        accounts: [{ id: ACCOUNT, createdAt: at(11 * 60) }],
      },
    ],
    accounts: { [ACCOUNT]: { name: 'Acme Inc', plan: 'enterprise', industry: 'Software', seats: 120 } },
  };
}

function startOfYesterday(): number {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 86_400_000;
}

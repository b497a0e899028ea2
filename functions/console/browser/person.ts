/** The cards that show one person: experiment id, identity graph, identifiers, traits, accounts. */
import type { Identifier } from '../../../src/identity/identifiers';
import type { Profile } from './api';
import { el, section, shown, svg, table } from './dom';

/** What each rule of the stable experiment id means (docs/identity-rules.md). */
const RULES: Record<string, string> = {
  'earliest-identifier': 'the identifier seen first; identifiers joining later never move it',
  'user-id': "the profile's user id (BUCKET_ON_USER_ID is set)",
  legacy: 'the id this profile had before stable ids, pinned so it keeps its variations',
};

export const label = (identifier: Identifier): string => `${identifier.type}: ${identifier.value}`;
export const sameIdentifier = (a: Identifier, b: Identifier): boolean =>
  a.type === b.type && a.value === b.value;

export function traitsTable(traits: Record<string, unknown> | undefined, emptyText: string): HTMLElement {
  const entries = Object.entries(traits || {});
  if (entries.length === 0) return el('p', { class: 'muted' }, emptyText);
  return table(
    ['trait', 'value'],
    entries.map(([key, value]) => el('tr', {}, el('td', {}, key), el('td', {}, shown(value)))),
    { class: 'traits' },
  );
}

export function experimentIdCard(person: Profile): HTMLElement {
  const from = person.canonicalIdFrom || {};
  return section(
    'Stable experiment id',
    el('p', { class: 'experiment-id' }, el('code', { id: 'canonical-id' }, person.canonicalId)),
    el(
      'p',
      { id: 'canonical-from' },
      'Chosen from the ',
      el('strong', {}, from.type || 'unknown'),
      ' identifier by rule ',
      el('code', {}, from.rule || 'unknown'),
      `: ${(from.rule && RULES[from.rule]) || 'see docs/identity-rules.md'}. `,
      from.digested
        ? 'It is a keyed digest of that identifier: personal data never reaches Optimizely.'
        : "It is that identifier's own value.",
    ),
    el(
      'p',
      {},
      'User id: ',
      person.userId ? el('code', { id: 'user-id' }, person.userId) : el('span', { class: 'muted' }, 'none'),
    ),
    el(
      'p',
      { class: 'muted' },
      'Optimizely buckets on this id (or on the account, for account-bucketed flags), and events carry it.',
    ),
  );
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** One labelled box of the graph, centred on `y`; `full` is its tooltip. */
function box(x: number, y: number, width: number, text: string, className: string, full: string) {
  return svg(
    'g',
    { class: className },
    svg('title', {}, full),
    svg('rect', { x, y: y - 11, width, height: 22, rx: 5 }),
    svg('text', { x: x + 8, y: y + 4 }, clip(text, Math.floor((width - 12) / 6.6))),
  );
}

/** identifiers → profile → accounts, drawn to scale of the person: one row per identifier or account. */
export function graph(person: Profile, lookedUp: Identifier): SVGSVGElement {
  const row = 30;
  const rows = Math.max(person.identifiers.length, person.accounts.length, 1);
  const height = rows * row + 20;
  const middle = height / 2;
  const rowY = (i: number, count: number) => 10 + row / 2 + i * row + ((rows - count) * row) / 2;
  const parts: SVGElement[] = [];
  person.identifiers.forEach((identifier, i) => {
    const y = rowY(i, person.identifiers.length);
    parts.push(svg('path', { class: 'edge', d: `M230 ${y} C260 ${y} 250 ${middle} 280 ${middle}` }));
    const mark = sameIdentifier(identifier, lookedUp) ? ' looked-up' : '';
    parts.push(box(10, y, 220, label(identifier), `node identifier${mark}`, label(identifier)));
  });
  person.accounts.forEach((account, i) => {
    const y = rowY(i, person.accounts.length);
    const primary = account.id === person.primaryAccountId;
    const suffix = primary ? ' (primary)' : '';
    parts.push(svg('path', { class: 'edge', d: `M440 ${middle} C470 ${middle} 460 ${y} 490 ${y}` }));
    parts.push(
      box(
        490,
        y,
        140,
        account.id + suffix,
        `node account${primary ? ' primary' : ''}`,
        `account ${account.id}${suffix}`,
      ),
    );
  });
  parts.push(
    box(
      280,
      middle,
      160,
      `profile ${person.canonicalId}`,
      'node profile',
      `profile, experiment id ${person.canonicalId}`,
    ),
  );
  return svg(
    'svg',
    {
      id: 'graph',
      viewBox: `0 0 640 ${height}`,
      role: 'img',
      'aria-label': `Identity graph: ${person.identifiers.length} identifiers, one profile, ${person.accounts.length} accounts`,
    },
    ...parts,
  );
}

/** The identifiers, each with a box that adds or drops its column of decisions (`onCompare`). */
export function identifiersCard(
  person: Profile,
  lookedUp: Identifier,
  compared: readonly Identifier[],
  onCompare: (identifier: Identifier, on: boolean) => void,
): HTMLElement {
  const rows = person.identifiers.map((identifier) =>
    el(
      'tr',
      {
        'data-identifier': label(identifier),
        class: sameIdentifier(identifier, lookedUp) ? 'looked-up' : undefined,
      },
      el('td', {}, identifier.type),
      el('td', {}, el('code', {}, identifier.value)),
      el('td', {}, identifier.firstSeen || '—'),
      el(
        'td',
        {},
        el('input', {
          type: 'checkbox',
          checked: compared.some((c) => sameIdentifier(c, identifier)),
          'aria-label': `Decide through ${label(identifier)}`,
          'data-compare': label(identifier),
        }),
      ),
    ),
  );
  const card = section(
    'Identifiers',
    table(['type', 'value', 'first seen', 'compare'], rows, { id: 'identifiers' }),
    el('p', { class: 'muted' }, 'Ticked identifiers get a column in the decisions below.'),
  );
  card.addEventListener('change', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    const identifier = person.identifiers.find((i) => label(i) === box.getAttribute('data-compare'));
    if (identifier) onCompare(identifier, box.checked);
  });
  return card;
}

export function accountsCard(person: Profile): HTMLElement {
  if (person.accounts.length === 0) return section('Accounts', el('p', { class: 'muted' }, 'No account.'));
  return section(
    'Accounts',
    ...person.accounts.map((account) => {
      const primary = account.id === person.primaryAccountId;
      return el(
        'div',
        { class: `account${primary ? ' primary' : ''}`, 'data-account': account.id },
        el('h3', {}, account.id, primary ? el('span', { class: 'badge primary' }, 'primary') : undefined),
        primary
          ? el('p', { class: 'muted' }, 'Joined most recently: account-bucketed flags bucket on it.')
          : undefined,
        traitsTable(account.traits, 'No account traits.'),
      );
    }),
  );
}

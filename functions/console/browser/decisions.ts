/** The decisions card: every flag, one column per identifier decided through, and whether they agree. */
import type { Identifier } from '../../../src/identity/identifiers';
import type { Answer, Decision, DecisionIdentity } from './api';
import { el, section } from './dom';
import { label } from './person';

/** One identifier's column: its decisions, or undefined when decide did not answer 200 (`answer` says why). */
export interface Column {
  identifier: Identifier;
  decisions: Decision[] | undefined;
  answer: Answer;
}

/** decide's `identity` block; empty if a server leaves it out. */
export const identityOf = (decision: Decision): DecisionIdentity => decision.identity || {};

/** How a flag was bucketed: on the account (account-level bucketing) or on the person's experiment id. */
function bucketedBy(identity: DecisionIdentity): string {
  if (identity.accountId && identity.bucketingId === identity.accountId)
    return `account ${identity.accountId}`;
  return `person ${identity.bucketingId || identity.canonicalId || '(unknown)'}`;
}

/** Why the SDK decided as it did: bucketing id, the attributes it saw, its reasons. */
function why(decision: Decision): HTMLElement {
  const identity = identityOf(decision);
  return el(
    'details',
    {},
    el('summary', {}, 'why'),
    el('p', {}, 'Bucketing id: ', el('code', {}, identity.bucketingId || identity.canonicalId)),
    el(
      'p',
      {},
      'Attributes the SDK saw: ',
      el('code', {}, JSON.stringify(decision.userContext?.attributes || {})),
    ),
    decision.reasons && decision.reasons.length > 0
      ? el(
          'ol',
          { class: 'reasons' },
          decision.reasons.map((r) => el('li', {}, r)),
        )
      : el('p', { class: 'muted' }, 'No reasons given.'),
  );
}

function variationCell(decision: Decision | undefined): HTMLElement {
  if (!decision) return el('td', { class: 'variation missing' }, '?');
  return el(
    'td',
    { class: 'variation', 'data-variation': decision.variationKey },
    decision.variationKey || el('span', { class: 'muted' }, '(none)'),
    ' ',
    el('span', { class: `badge ${decision.enabled ? 'on' : 'off'}` }, decision.enabled ? 'on' : 'off'),
  );
}

/** The decisions of each column's identifier, flag by flag; `alone` explains a single column. */
export function decisionsCard(columns: readonly Column[], alone: string): HTMLElement {
  const card = section('Decisions');
  const first = columns.find((c) => Array.isArray(c.decisions))?.decisions;
  if (!first) {
    card.append(el('p', { class: 'muted' }, 'No decision to show.'));
    return card;
  }
  const head = el(
    'tr',
    {},
    el('th', {}, 'flag'),
    el('th', {}, 'rule'),
    el('th', {}, 'bucketed by'),
    columns.map((c) => {
      const decision = c.decisions?.[0];
      return el(
        'th',
        { 'data-column': label(c.identifier) },
        label(c.identifier),
        el('small', {}, decision ? `decided on ${identityOf(decision).canonicalId}` : 'no answer'),
      );
    }),
    el('th', {}, 'across identifiers'),
  );
  const rows = first.map((decision) => {
    const cells = columns.map((c) => c.decisions?.find((d) => d.flagKey === decision.flagKey));
    const answered = cells.filter((d) => d !== undefined);
    const seen = new Set(answered.map((d) => `${d.variationKey}|${d.enabled}`));
    const agreement =
      columns.length < 2
        ? el('td', { class: 'agreement' }, '—')
        : seen.size === 1 && answered.length === cells.length
          ? el('td', { class: 'agreement same' }, '✓ same')
          : el('td', { class: 'agreement differs' }, '✗ differs');
    return el(
      'tr',
      {
        'data-flag': decision.flagKey,
        class: agreement.classList.contains('differs') ? 'differs' : undefined,
      },
      el('td', {}, el('code', {}, decision.flagKey), why(decision)),
      el('td', {}, decision.ruleKey || el('span', { class: 'muted' }, 'none')),
      el('td', { class: 'bucketing' }, bucketedBy(identityOf(decision))),
      cells.map(variationCell),
      agreement,
    );
  });
  const differing = rows.filter((r) => r.classList.contains('differs')).length;
  card.append(
    el(
      'p',
      { id: 'agreement', class: columns.length < 2 ? 'muted' : differing > 0 ? 'differs' : 'same' },
      columns.length < 2
        ? alone
        : differing > 0
          ? `✗ ${differing} flag(s) differ across these identifiers.`
          : `✓ The same variation of every flag through all ${columns.length} identifiers.`,
    ),
    el(
      'div',
      { class: 'scroll' },
      el('table', { id: 'decisions' }, el('thead', {}, head), el('tbody', {}, rows)),
    ),
  );
  return card;
}

/**
 * Crosswalk's identity console in the browser (served as /console/app.js, bundled by
 * build/console-assets.ts): an operator enters a key, looks a person up by one identifier, and sees
 * the profile and the decisions through each of its identifiers side by side. It runs under a strict
 * Content-Security-Policy: no inline script or style, only this origin.
 */
import { type Identifier, normalizeIdentifier } from '../../../src/identity/identifiers';
import {
  type Answer,
  DECIDE_PATH,
  type Decision,
  decideBody,
  explain,
  forgetKey,
  LOOKUP_PATH,
  type Profile,
  post,
  storedKey,
  storeKey,
} from './api';
import { type Column, decisionsCard, identityOf } from './decisions';
import { byId, el, section } from './dom';
import {
  accountsCard,
  experimentIdCard,
  graph,
  identifiersCard,
  label,
  sameIdentifier,
  traitsTable,
} from './person';

/** Identifiers decided side by side when a person is shown; the others are one click away. */
const FIRST_COLUMNS = 6;

const page = {
  keyForm: byId('key-form', HTMLFormElement),
  keyInput: byId('key-input', HTMLInputElement),
  keySet: byId('key-set', HTMLDivElement),
  keyForget: byId('key-forget', HTMLButtonElement),
  lookupForm: byId('lookup-form', HTMLFormElement),
  type: byId('type', HTMLSelectElement),
  customTypeLabel: byId('custom-type-label', HTMLLabelElement),
  customType: byId('custom-type', HTMLInputElement),
  value: byId('value', HTMLInputElement),
  sdkKey: byId('sdk-key', HTMLInputElement),
  lookup: byId('lookup', HTMLButtonElement),
  status: byId('status', HTMLParagraphElement),
  result: byId('result', HTMLDivElement),
};

function showKeyState(): void {
  const set = storedKey() !== '';
  page.keyForm.hidden = set;
  page.keySet.hidden = !set;
  page.lookup.disabled = !set;
}

function setStatus(text: string, kind: 'error' | 'info' | '' = ''): void {
  page.status.textContent = text;
  page.status.className = kind;
  page.status.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

const decisionsOf = (answer: Answer): Decision[] | undefined =>
  answer.status === 200 && Array.isArray(answer.body) ? answer.body : undefined;

// ---- One lookup. Each has a run number; an answer to an older lookup than the current is dropped.

let current = 0;

/** Decides through each identifier; `cache` keeps one request per identifier while a person is shown. */
async function decideColumns(
  identifiers: readonly Identifier[],
  sdkKey: string,
  cache: Map<string, Promise<Answer>>,
): Promise<Column[]> {
  return Promise.all(
    identifiers.map(async (identifier) => {
      const key = label(identifier);
      let asked = cache.get(key);
      if (!asked) {
        asked = post(DECIDE_PATH, decideBody(identifier), sdkKey);
        cache.set(key, asked);
      }
      const answer = await asked;
      return { identifier, decisions: decisionsOf(answer), answer };
    }),
  );
}

function reportFailedColumns(columns: readonly Column[]): void {
  const failed = columns.find((c) => !c.decisions);
  if (failed) setStatus(explain(failed.answer, `the decisions through ${label(failed.identifier)}`), 'error');
}

async function showPerson(person: Profile, lookedUp: Identifier, sdkKey: string, run: number): Promise<void> {
  // The profile lists identifiers normalised, as Crosswalk stores them: so is the one looked up.
  const wanted = normalizeIdentifier(lookedUp);
  const matching = person.identifiers.find((i) => sameIdentifier(i, wanted)) || wanted;
  let compared = [matching, ...person.identifiers.filter((i) => !sameIdentifier(i, matching))].slice(
    0,
    FIRST_COLUMNS,
  );
  const cache = new Map<string, Promise<Answer>>();
  const decisionsSlot = el('div', {}, el('p', { class: 'muted' }, 'Deciding…'));
  const redraw = async () => {
    const columns = await decideColumns(compared, sdkKey, cache);
    if (run !== current) return;
    decisionsSlot.replaceChildren(decisionsCard(columns, 'Tick another identifier above to compare.'));
    reportFailedColumns(columns);
  };
  const onCompare = (identifier: Identifier, on: boolean) => {
    compared = compared.filter((c) => !sameIdentifier(c, identifier));
    if (on) compared.push(identifier);
    void redraw();
  };
  page.result.replaceChildren(
    el(
      'div',
      { class: 'grid' },
      experimentIdCard(person),
      section('Identity graph', graph(person, matching)),
    ),
    identifiersCard(person, matching, compared, onCompare),
    decisionsSlot,
    el(
      'div',
      { class: 'grid' },
      section('Traits', traitsTable(person.traits, 'No traits.')),
      section(
        'Engage audiences',
        person.audiences.length > 0
          ? el(
              'ul',
              { id: 'audiences' },
              person.audiences.map((a) => el('li', {}, a)),
            )
          : el('p', { class: 'muted' }, 'In no audience.'),
      ),
    ),
    accountsCard(person),
  );
  await redraw();
}

async function showUnknown(identifier: Identifier, sdkKey: string, run: number): Promise<void> {
  const answer = await post(DECIDE_PATH, decideBody(identifier), sdkKey);
  if (run !== current) return;
  const card = section(
    'Unknown person',
    el(
      'p',
      { id: 'unknown' },
      'Crosswalk knows nobody by ',
      el('code', {}, label(identifier)),
      ' (404): Segment has not linked this identifier to a profile yet, or the profile expired.',
    ),
  );
  const decisions = decisionsOf(answer);
  if (!decisions) {
    page.result.replaceChildren(card);
    setStatus(explain(answer, 'the decisions'), 'error');
    return;
  }
  const identity = decisions[0] ? identityOf(decisions[0]) : {};
  if (identity.canonicalId) {
    card.append(
      el(
        'p',
        {},
        'Crosswalk would decide on ',
        el('code', { id: 'would-decide-on' }, identity.canonicalId),
        ' (source ',
        el('code', { id: 'identity-source' }, identity.source),
        '): the experiment id this identifier anchors. ',
        identity.canonicalId.startsWith('cw1_')
          ? 'It is a keyed digest of the identifier: personal data never reaches Optimizely. '
          : '',
        'When Segment links it to a profile, the profile keeps this id, so the person keeps their variations.',
      ),
    );
  }
  const alone = 'Decided on the identifier as sent: nobody else is known by it yet.';
  page.result.replaceChildren(card, decisionsCard([{ identifier, decisions, answer }], alone));
}

async function lookUp(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const run = ++current;
  const type = (page.type.value || page.customType.value).trim();
  const value = page.value.value.trim();
  const sdkKey = page.sdkKey.value.trim();
  if (!type || !value) {
    setStatus('Enter an identifier type and value.', 'error');
    return;
  }
  page.result.replaceChildren();
  setStatus(`Looking up ${type}…`, 'info');
  // In the body, never in a URL: no identifier lands in browser history or an access log.
  const answer = await post(LOOKUP_PATH, { type, value });
  if (run !== current) return;
  if (answer.status === 404) {
    setStatus('');
    await showUnknown({ type, value }, sdkKey, run);
  } else if (answer.status === 200 && answer.body) {
    setStatus('');
    await showPerson(answer.body as Profile, { type, value }, sdkKey, run);
  } else {
    setStatus(explain(answer, 'the profile'), 'error');
  }
}

// ---- Wiring

page.keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = page.keyInput.value.trim();
  page.keyInput.value = '';
  if (!key) return;
  storeKey(key);
  setStatus('');
  showKeyState();
  page.value.focus();
});

page.keyForget.addEventListener('click', () => {
  forgetKey();
  page.result.replaceChildren();
  setStatus('');
  showKeyState();
  page.keyInput.focus();
});

page.type.addEventListener('change', () => {
  page.customTypeLabel.hidden = page.type.value !== '';
});

page.lookupForm.addEventListener('submit', lookUp);
showKeyState();

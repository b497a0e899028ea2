/**
 * The console's browser script (GET /console/app.js): plain modern JavaScript that runs in the
 * browser, not in Node. It is kept as text here, not as a module of this program, so nothing in it
 * is compiled, typed against Node or minified: the browser runs exactly what is written below.
 * (No backticks or dollar-brace inside: this is a template literal. test/unit/console.test.ts
 * parses it, and the browser test runs it.)
 */
export const CONSOLE_SCRIPT = String.raw`// Crosswalk identity console. Runs in the browser, served by Crosswalk at /console/app.js under a
// strict Content-Security-Policy: no inline script or style, only this origin. Every text it shows
// is a text node, never parsed as markup, so traits and identifiers cannot inject any.

const KEY_STORAGE = 'crosswalk.operatorKey';
// The console looks and explains: its decisions must never count as exposures in Optimizely, nor
// change the person (READ_ONLY: no saved profile, no event; the saved one is still honoured).
const DECIDE_OPTIONS = ['READ_ONLY', 'DISABLE_DECISION_EVENT', 'INCLUDE_REASONS'];
// Identifiers decided side by side when a person is shown; the others are one click away.
const FIRST_COLUMNS = 6;

const RULES = {
  'earliest-identifier': 'the identifier seen first; identifiers joining later never move it',
  'user-id': "the profile's user id (BUCKET_ON_USER_ID is set)",
  legacy: 'the id this profile had before stable ids, pinned so it keeps its variations',
};

const $ = (id) => document.getElementById(id);

/** An element with attributes (or properties: 'hidden', 'checked') and children (strings become text). */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'hidden' || name === 'checked') node[name] = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

function svg(tag, attributes, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

const shown = (value) => (typeof value === 'string' ? value : JSON.stringify(value));
const label = (identifier) => identifier.type + ': ' + identifier.value;
const sameIdentifier = (a, b) => a.type === b.type && a.value === b.value;

/** As Crosswalk normalises identifiers (functions/identity/identifiers.ts), to find the one looked up. */
function normalized(identifier) {
  const type = identifier.type.trim().toLowerCase();
  const raw = identifier.value.trim();
  if (type === 'email') return { type, value: raw.toLowerCase() };
  if (type === 'phone') return { type, value: (raw.startsWith('+') ? '+' : '') + raw.replace(/\D/g, '') };
  return { type, value: raw };
}

// ---- The operator key: in this tab's sessionStorage only, never in a URL, a cookie or a log.

function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

function showKeyState() {
  const set = storedKey() !== '';
  $('key-form').hidden = set;
  $('key-set').hidden = !set;
  $('lookup').disabled = !set;
}

// ---- Calls to Crosswalk, and what their answers mean in plain words.

/** POSTs JSON with the operator key; answers {status, body}, status 0 when the network failed. */
async function post(path, body, sdkKey) {
  const headers = { 'content-type': 'application/json', 'x-api-key': storedKey() };
  if (sdkKey) headers['x-optimizely-sdk-key'] = sdkKey;
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (error) {
    return { status: 0, body: { error: String(error && error.message) }, name: null };
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    // Not JSON (a proxy's error page): the status alone has to do.
  }
  // Bodies are Optimizely Agent's {"error": "<message>"}; the error's name is in a header.
  return { status: response.status, body: answer, name: response.headers.get('x-crosswalk-error') };
}

function explain(answer, what) {
  const message = answer.body && answer.body.error ? ' Crosswalk said: ' + answer.body.error : '';
  const error = answer.name;
  switch (true) {
    case answer.status === 0:
      return 'Crosswalk could not be reached (network error) while asking for ' + what + '. Is it running, and is this page served by it?';
    case answer.status === 401:
      return 'The key was refused (401): it is not a key of this deployment. Forget it and enter an operator key (ADMIN_API_KEYS).';
    case answer.status === 403 && error === 'NotPermittedError':
      return 'This key is not an operator key (403). It is a client key: it may ask for decisions, but not look people up. Forget it and enter an operator key (ADMIN_API_KEYS).';
    case answer.status === 403 && error === 'UnknownProjectError':
      return 'This deployment does not serve that project (403): check the SDK key, or leave it empty for the default.' + message;
    case answer.status === 400:
      return 'Crosswalk refused the request for ' + what + ' (400).' + message;
    case answer.status === 413:
      return 'The request for ' + what + ' is too large (413).' + message;
    case answer.status === 429:
      return 'Too many requests (429): the operator routes are throttled. Wait a moment and try again.';
    case answer.status === 503:
      return 'Crosswalk could not answer ' + what + ' (503): one of its dependencies is unavailable for now. Try again in a moment.';
    case answer.status >= 500:
      return 'Crosswalk failed while answering ' + what + ' (' + answer.status + '). Nothing is wrong with your request; the details are in its logs.';
    default:
      return 'Unexpected answer to ' + what + ' (' + answer.status + ').' + message;
  }
}

function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.className = kind || '';
  status.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

/** decide's body for one identifier: Agent's 'userId' for a user id, the 'identifiers' extension otherwise. */
function decideBody(identifier) {
  const who = identifier.type === 'user_id' ? { userId: identifier.value } : { identifiers: { [identifier.type]: identifier.value } };
  return { ...who, decideOptions: DECIDE_OPTIONS };
}

// ---- The person

function section(title, ...children) {
  return el('section', { class: 'card' }, el('h2', {}, title), ...children);
}

function table(head, rows, attributes) {
  return el(
    'table',
    attributes,
    el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows),
  );
}

function traitsTable(traits, emptyText) {
  const entries = Object.entries(traits || {});
  if (entries.length === 0) return el('p', { class: 'muted' }, emptyText);
  return table(
    ['trait', 'value'],
    entries.map(([key, value]) => el('tr', {}, el('td', {}, key), el('td', {}, shown(value)))),
    { class: 'traits' },
  );
}

function experimentIdCard(person) {
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
      ': ' + (RULES[from.rule] || 'see docs/identity-rules.md') + '. ',
      from.digested
        ? 'It is a keyed digest of that identifier: personal data never reaches Optimizely.'
        : "It is that identifier's own value.",
    ),
    el('p', {}, 'User id: ', person.userId ? el('code', { id: 'user-id' }, person.userId) : el('span', { class: 'muted' }, 'none')),
    el('p', { class: 'muted' }, 'Optimizely buckets on this id (or on the account, for account-bucketed flags), and events carry it.'),
  );
}

/** identifiers → profile → accounts, drawn to scale of the person: one row per identifier or account. */
function graph(person, lookedUp) {
  const row = 30;
  const rows = Math.max(person.identifiers.length, person.accounts.length, 1);
  const height = rows * row + 20;
  const middle = height / 2;
  const clip = (text, max) => (text.length > max ? text.slice(0, max - 1) + '…' : text);
  const box = (x, y, width, text, className, full) =>
    svg(
      'g',
      { class: className },
      svg('title', {}, full),
      svg('rect', { x, y: y - 11, width, height: 22, rx: 5 }),
      svg('text', { x: x + 8, y: y + 4 }, clip(text, Math.floor((width - 12) / 6.6))),
    );
  const parts = [];
  person.identifiers.forEach((identifier, i) => {
    const y = 10 + row / 2 + i * row + ((rows - person.identifiers.length) * row) / 2;
    parts.push(svg('path', { class: 'edge', d: 'M230 ' + y + ' C260 ' + y + ' 250 ' + middle + ' 280 ' + middle }));
    const mark = sameIdentifier(identifier, lookedUp) ? ' looked-up' : '';
    parts.push(box(10, y, 220, label(identifier), 'node identifier' + mark, label(identifier)));
  });
  person.accounts.forEach((account, i) => {
    const y = 10 + row / 2 + i * row + ((rows - person.accounts.length) * row) / 2;
    const primary = account.id === person.primaryAccountId;
    parts.push(svg('path', { class: 'edge', d: 'M440 ' + middle + ' C470 ' + middle + ' 460 ' + y + ' 490 ' + y }));
    const text = account.id + (primary ? ' (primary)' : '');
    parts.push(box(490, y, 140, text, 'node account' + (primary ? ' primary' : ''), 'account ' + account.id + (primary ? ' (primary)' : '')));
  });
  parts.push(box(280, middle, 160, 'profile ' + person.canonicalId, 'node profile', 'profile, experiment id ' + person.canonicalId));
  return svg(
    'svg',
    { id: 'graph', viewBox: '0 0 640 ' + height, role: 'img', 'aria-label': 'Identity graph: ' + person.identifiers.length + ' identifiers, one profile, ' + person.accounts.length + ' accounts' },
    ...parts,
  );
}

function identifiersCard(person, lookedUp, compared, onCompare) {
  const rows = person.identifiers.map((identifier) =>
    el(
      'tr',
      { 'data-identifier': label(identifier), class: sameIdentifier(identifier, lookedUp) ? 'looked-up' : undefined },
      el('td', {}, identifier.type),
      el('td', {}, el('code', {}, identifier.value)),
      el('td', {}, identifier.firstSeen || '—'),
      el(
        'td',
        {},
        el('input', {
          type: 'checkbox',
          checked: compared.some((c) => sameIdentifier(c, identifier)),
          'aria-label': 'Decide through ' + label(identifier),
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
    const identifier = person.identifiers.find((i) => label(i) === box.getAttribute('data-compare'));
    if (identifier) onCompare(identifier, box.checked);
  });
  return card;
}

function accountsCard(person) {
  if (person.accounts.length === 0) return section('Accounts', el('p', { class: 'muted' }, 'No account.'));
  return section(
    'Accounts',
    ...person.accounts.map((account) => {
      const primary = account.id === person.primaryAccountId;
      return el(
        'div',
        { class: 'account' + (primary ? ' primary' : ''), 'data-account': account.id },
        el('h3', {}, account.id, primary ? el('span', { class: 'badge primary' }, 'primary') : undefined),
        primary ? el('p', { class: 'muted' }, 'Joined most recently: account-bucketed flags bucket on it.') : undefined,
        traitsTable(account.traits, 'No account traits.'),
      );
    }),
  );
}

// ---- Decisions, one column per identifier

/** decide's 'identity' extension (asked for with includeIdentity=true); empty if a server leaves it out. */
const identityOf = (decision) => decision.identity || {};

/** How a flag was bucketed: on the account (account-level bucketing) or on the person's experiment id. */
function bucketedBy(identity) {
  if (identity.accountId && identity.bucketingId === identity.accountId) return 'account ' + identity.accountId;
  return 'person ' + (identity.bucketingId || identity.canonicalId || '(unknown)');
}

/** The decisions of each column's identifier, flag by flag; 'alone' explains a single column. */
function decisionsCard(columns, alone) {
  const card = section('Decisions');
  const ready = columns.filter((c) => Array.isArray(c.decisions));
  if (ready.length === 0) {
    card.append(el('p', { class: 'muted' }, 'No decision to show.'));
    return card;
  }
  const first = ready[0].decisions;
  const head = el(
    'tr',
    {},
    el('th', {}, 'flag'),
    el('th', {}, 'rule'),
    el('th', {}, 'bucketed by'),
    columns.map((c) =>
      el(
        'th',
        { 'data-column': label(c.identifier) },
        label(c.identifier),
        el('small', {}, c.decisions && c.decisions[0] ? 'decided on ' + identityOf(c.decisions[0]).canonicalId : 'no answer'),
      ),
    ),
    el('th', {}, 'across identifiers'),
  );
  const rows = first.map((decision) => {
    const cells = columns.map((c) => (c.decisions ? c.decisions.find((d) => d.flagKey === decision.flagKey) : undefined));
    const seen = new Set(cells.filter(Boolean).map((d) => d.variationKey + '|' + d.enabled));
    const agreement =
      columns.length < 2
        ? el('td', { class: 'agreement' }, '—')
        : seen.size === 1 && cells.every(Boolean)
          ? el('td', { class: 'agreement same' }, '✓ same')
          : el('td', { class: 'agreement differs' }, '✗ differs');
    const why = el(
      'details',
      {},
      el('summary', {}, 'why'),
      el('p', {}, 'Bucketing id: ', el('code', {}, identityOf(decision).bucketingId || identityOf(decision).canonicalId)),
      el(
        'p',
        {},
        'Attributes the SDK saw: ',
        el('code', {}, JSON.stringify((decision.userContext && decision.userContext.attributes) || {})),
      ),
      decision.reasons && decision.reasons.length > 0
        ? el('ol', { class: 'reasons' }, decision.reasons.map((r) => el('li', {}, r)))
        : el('p', { class: 'muted' }, 'No reasons given.'),
    );
    return el(
      'tr',
      { 'data-flag': decision.flagKey, class: agreement.classList.contains('differs') ? 'differs' : undefined },
      el('td', {}, el('code', {}, decision.flagKey), why),
      el('td', {}, decision.ruleKey || el('span', { class: 'muted' }, 'none')),
      el('td', { class: 'bucketing' }, bucketedBy(identityOf(decision))),
      cells.map((d) =>
        d
          ? el(
              'td',
              { class: 'variation', 'data-variation': d.variationKey },
              d.variationKey || el('span', { class: 'muted' }, '(none)'),
              ' ',
              el('span', { class: 'badge ' + (d.enabled ? 'on' : 'off') }, d.enabled ? 'on' : 'off'),
            )
          : el('td', { class: 'variation missing' }, '?'),
      ),
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
          ? '✗ ' + differing + ' flag(s) differ across these identifiers.'
          : '✓ The same variation of every flag through all ' + columns.length + ' identifiers.',
    ),
    el('div', { class: 'scroll' }, el('table', { id: 'decisions' }, el('thead', {}, head), el('tbody', {}, rows))),
  );
  return card;
}

// ---- One lookup

let current = 0;

async function decideColumns(identifiers, sdkKey, cache) {
  return Promise.all(
    identifiers.map(async (identifier) => {
      const key = label(identifier);
      if (!cache.has(key)) cache.set(key, post('v1/decide?includeIdentity=true', decideBody(identifier), sdkKey));
      const answer = await cache.get(key);
      return { identifier, decisions: answer.status === 200 ? answer.body : undefined, answer };
    }),
  );
}

function reportFailedColumns(columns) {
  const failed = columns.find((c) => !c.decisions);
  if (failed) setStatus(explain(failed.answer, 'the decisions through ' + label(failed.identifier)), 'error');
}

async function showPerson(person, lookedUp, sdkKey, run) {
  const result = $('result');
  const wanted = normalized(lookedUp);
  const matching = person.identifiers.find((i) => sameIdentifier(i, wanted)) || wanted;
  let compared = [matching, ...person.identifiers.filter((i) => !sameIdentifier(i, matching))].slice(0, FIRST_COLUMNS);
  const cache = new Map();
  const decisionsSlot = el('div', {}, el('p', { class: 'muted' }, 'Deciding…'));
  const redraw = async () => {
    const columns = await decideColumns(compared, sdkKey, cache);
    if (run !== current) return;
    decisionsSlot.replaceChildren(decisionsCard(columns, 'Tick another identifier above to compare.'));
    reportFailedColumns(columns);
  };
  const onCompare = (identifier, on) => {
    compared = compared.filter((c) => !sameIdentifier(c, identifier));
    if (on) compared.push(identifier);
    void redraw();
  };
  result.replaceChildren(
    el('div', { class: 'grid' }, experimentIdCard(person), section('Identity graph', graph(person, matching))),
    identifiersCard(person, matching, compared, onCompare),
    decisionsSlot,
    el(
      'div',
      { class: 'grid' },
      section('Traits', traitsTable(person.traits, 'No traits.')),
      section(
        'Engage audiences',
        person.audiences.length > 0
          ? el('ul', { id: 'audiences' }, person.audiences.map((a) => el('li', {}, a)))
          : el('p', { class: 'muted' }, 'In no audience.'),
      ),
    ),
    accountsCard(person),
  );
  await redraw();
}

async function showUnknown(identifier, sdkKey, run) {
  const answer = await post('v1/decide?includeIdentity=true', decideBody(identifier), sdkKey);
  if (run !== current) return;
  const card = section(
    'Unknown person',
    el('p', { id: 'unknown' }, 'Crosswalk knows nobody by ', el('code', {}, label(identifier)), ' (404): Segment has not linked this identifier to a profile yet, or the profile expired.'),
  );
  const result = $('result');
  if (answer.status !== 200) {
    result.replaceChildren(card);
    setStatus(explain(answer, 'the decisions'), 'error');
    return;
  }
  const identity = answer.body[0] ? identityOf(answer.body[0]) : {};
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
  result.replaceChildren(card, decisionsCard([{ identifier, decisions: answer.body, answer }], alone));
}

async function lookUp(event) {
  event.preventDefault();
  const run = ++current;
  const type = ($('type').value || $('custom-type').value).trim();
  const value = $('value').value.trim();
  const sdkKey = $('sdk-key').value.trim();
  if (!type || !value) {
    setStatus('Enter an identifier type and value.', 'error');
    return;
  }
  $('result').replaceChildren();
  setStatus('Looking up ' + type + '…', 'info');
  const answer = await post('v1/identities/lookup', { type, value });
  if (run !== current) return;
  if (answer.status === 404) {
    setStatus('', '');
    await showUnknown({ type, value }, sdkKey, run);
  } else if (answer.status === 200 && answer.body) {
    setStatus('', '');
    await showPerson(answer.body, { type, value }, sdkKey, run);
  } else {
    setStatus(explain(answer, 'the profile'), 'error');
  }
}

// ---- Wiring

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key-input').value.trim();
  $('key-input').value = '';
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  setStatus('', '');
  showKeyState();
  $('value').focus();
});

$('key-forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  $('result').replaceChildren();
  setStatus('', '');
  showKeyState();
  $('key-input').focus();
});

$('type').addEventListener('change', () => {
  $('custom-type-label').hidden = $('type').value !== '';
});

$('lookup-form').addEventListener('submit', lookUp);
showKeyState();
`;

// Tollgate console: one page, plain JavaScript, no build step.
//
// The console calls the same APIs as every other client (the Auth API at
// /auth/v1, the Container Registry API at /containerregistries), so the
// same rules apply and their error messages are shown as they are. It
// authenticates with the session cookie (HttpOnly: this script never sees
// it) and sends the session's CSRF token with every request. Pages are
// built with DOM calls, never from HTML strings, so no value from the API
// is ever parsed as markup.

const SOON = 3 * 24 * 3600 * 1000; // "expires soon": within three days
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const ACTIONS = ['pull', 'push', 'delete'];
const LIFETIMES = [
  ['1 hour', 3600],
  ['1 day', 86400],
  ['7 days', 7 * 86400],
  ['30 days', 30 * 86400],
  ['90 days', 90 * 86400],
  ['1 year', 365 * 86400],
];
const REGISTRY_NAME = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

let session = null;

// ---------------------------------------------------------------- DOM

/** An element: h('button', {class: 'x', onclick: f}, 'text', child...). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

let uniqueIds = 0;
function uid(prefix) {
  uniqueIds += 1;
  return `${prefix}-${uniqueIds}`;
}

function announce(text) {
  const announcer = document.getElementById('announcer');
  announcer.textContent = '';
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function errorBox(message) {
  return h('div', { class: 'error', role: 'alert' }, message);
}

/** Shows `message` (or nothing) in `slot`, an element kept for a form's errors. */
function showError(slot, message) {
  slot.replaceChildren(message ? errorBox(message) : '');
}

function formatDate(text) {
  if (!text) return '—';
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : dateFormat.format(date);
}

/** A size in bytes for people: 1,536 bytes is "1.5 KiB". */
function formatBytes(bytes) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let size = Number(bytes) || 0;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} bytes` : `${size.toFixed(1)} ${units[unit]}`;
}

/** What a registry stores, and when that was last counted. */
function storageUsed(registry) {
  const usage = registry.properties.storageUsage || {};
  const counted = usage.updatedAt ? ` (counted ${formatDate(usage.updatedAt)})` : '';
  return `${formatBytes(usage.bytes)}${counted}`;
}

/** A badge for an expiry: expired, expiring soon, or nothing. */
function expiryBadge(text) {
  if (!text) return h('span', { class: 'badge ok' }, 'never expires');
  const left = new Date(text).getTime() - Date.now();
  if (left <= 0) return h('span', { class: 'badge bad' }, 'expired');
  if (left < SOON) return h('span', { class: 'badge warn' }, 'expires soon');
  return null;
}

// Tables carry their roles explicitly: at phone width their CSS makes
// them blocks, which would otherwise drop the table semantics.
function cell(label, ...content) {
  return h('td', { 'data-label': label, role: 'cell' }, ...content);
}

function row(...cells) {
  return h('tr', { role: 'row' }, ...cells);
}

function table(caption, headers, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', { role: 'table' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, headers.map((text) => h('th', { scope: 'col', role: 'columnheader' }, text)))),
      h('tbody', { role: 'rowgroup' }, rows)));
}

/** A modal dialog; resolves true when `confirmLabel` is chosen. */
function confirmDialog({ title, body, confirmLabel, danger = true }) {
  return new Promise((resolve) => {
    const titleId = uid('dialog-title');
    const bodyId = uid('dialog-body');
    const dialog = h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': bodyId },
      h('h2', { id: titleId }, title),
      h('div', { id: bodyId }, [body].flat().map((text) => h('p', {}, text))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close('cancel') }, 'Cancel'),
        h('button', { type: 'button', class: danger ? 'danger' : '', onclick: () => dialog.close('confirm') }, confirmLabel)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A copy button for the text of `source` (an element). */
function copyButton(source, what) {
  const button = h('button', { type: 'button', class: 'secondary' }, `Copy ${what}`);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = 'Copied';
      announce(`${what} copied to the clipboard`);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = 'Selected: press Ctrl+C';
    }
  });
  return button;
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The message of an IONOS error body, as a sentence. */
function messageOf(body, status) {
  const messages = body && Array.isArray(body.messages) ? body.messages.map((m) => m.message).filter(Boolean) : [];
  if (messages.length) return messages.join(' ');
  return `The server answered ${status} without saying why.`;
}

/** An API call with the session's CSRF token; throws ApiError on refusal. */
async function api(method, path, body, retried = false) {
  const asked = session;
  const headers = { Accept: 'application/json' };
  if (asked) headers['X-CSRF-Token'] = asked.csrfToken;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'Tollgate could not be reached. Check your connection and try again.');
  }
  if (method === 'HEAD') return { status: response.status };
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (response.ok) return { status: response.status, data };
  const code = data && Array.isArray(data.messages) && data.messages[0] ? data.messages[0].errorCode : '';
  if (response.status === 403 && code === 'csrf-token-mismatch' && asked && !retried && (await reloadSession())) {
    // Signed in again in another tab: this page's token was stale.
    return api(method, path, body, true);
  }
  const error = new ApiError(response.status, messageOf(data, response.status));
  const signingIn = method === 'POST' && path === '/console/session';
  // Only a refusal of the session this request was made with ends it (a
  // request sent before a contract switch is refused with the old one).
  if (response.status === 401 && asked && asked === session && !signingIn) sessionEnded(error.message);
  throw error;
}

/** Reads the session again (its CSRF token); false when there is none. */
async function reloadSession() {
  try {
    const response = await fetch('/console/session', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!response.ok) return false;
    session = await response.json();
    return true;
  } catch {
    return false;
  }
}

/** Runs `action` with `button` disabled, so a double click does it once. */
async function busy(button, action) {
  if (button.disabled) return;
  button.disabled = true;
  try {
    await action();
  } finally {
    if (button.isConnected) button.disabled = false;
  }
}

/** Focuses the element with `id` (a heading after its list was rebuilt). */
function focusById(id) {
  const element = document.getElementById(id);
  if (element) element.focus();
}

/** Focuses the button named `label` (the same action after its list was rebuilt). */
function focusButton(label) {
  const button = main().querySelector(`button[aria-label="${CSS.escape(label)}"]`);
  if (button) button.focus();
}

const registriesApi = '/containerregistries/registries';

// ---------------------------------------------------------------- session

function sessionEnded(message) {
  session = null;
  showSignIn(message);
}

function renderChrome() {
  const nav = document.getElementById('nav');
  const account = document.getElementById('account');
  nav.hidden = !session;
  account.hidden = !session;
  if (!session) {
    account.replaceChildren();
    return;
  }
  const parts = [h('span', { class: 'who' }, session.email)];
  if (session.contracts.length > 1) {
    const id = uid('contract');
    const select = h('select', { id },
      session.contracts.map((c) => h('option', { value: c, selected: c === session.contract }, String(c))));
    const go = h('button', { type: 'button', class: 'secondary' }, 'Switch');
    go.addEventListener('click', () => busy(go, () => switchContract(Number(select.value))));
    parts.push(h('label', { for: id }, 'Contract'), select, go);
  } else {
    parts.push(h('span', {}, `Contract ${session.contract}`));
  }
  parts.push(h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out'));
  account.replaceChildren(...parts);
}

async function switchContract(contract) {
  try {
    const { data } = await api('PUT', '/console/session', { contract });
    session = data;
    announce(`Now acting in contract ${contract}`);
    if (location.hash.startsWith('#/registries/') || location.hash === '#/contract') location.hash = '#/tokens';
    else route();
  } catch (error) {
    page('Contract', [errorBox(error.message)]);
  }
}

async function signOut() {
  try {
    await api('DELETE', '/console/session');
  } catch (error) {
    if (error.status !== 401) {
      page('Sign out', [errorBox(`You are still signed in: ${error.message}`)]);
      return;
    }
  }
  session = null;
  history.replaceState(null, '', location.pathname);
  showSignIn('You are signed out.', 'success');
}

function showSignIn(message, kind = 'error') {
  renderChrome();
  const email = h('input', { type: 'email', id: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const errors = h('div', { id: 'sign-in-errors' });
  if (message) errors.append(kind === 'error' ? errorBox(message) : h('div', { class: 'success', role: 'status' }, message));
  const refused = (text, field) => {
    showError(errors, text);
    for (const input of [email, password]) {
      input.setAttribute('aria-invalid', String(input === field || field === null));
      input.setAttribute('aria-describedby', 'sign-in-errors');
    }
  };
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'E-mail'), email),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    errors,
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!email.value || !password.value) {
      const missing = email.value ? password : email;
      refused('Enter your e-mail and password.', missing);
      missing.focus();
      return;
    }
    button.disabled = true;
    try {
      const { data } = await api('POST', '/console/session', { email: email.value, password: password.value });
      session = data;
      password.value = '';
      const target = session.contracts.length > 1 ? '#/contract' : (location.hash || '#/tokens');
      if (location.hash !== target) location.hash = target; // hashchange renders it
      else route();
    } catch (error) {
      button.disabled = false;
      refused(error.message, null);
      password.select();
    }
  });
  document.title = 'Sign in · Tollgate';
  main().replaceChildren(h('div', { class: 'card narrow' },
    h('h1', { tabindex: '-1' }, 'Sign in to Tollgate'),
    h('p', { class: 'hint' }, 'Use the e-mail and password of your Tollgate account.'),
    form));
  email.focus();
}

// ---------------------------------------------------------------- pages

function main() {
  return document.getElementById('main');
}

/** Replaces the page: a heading (focused, for screen readers), then `content`. */
function page(title, content, { lead, actions, crumb } = {}) {
  document.title = `${title} · Tollgate`;
  const heading = h('h1', { tabindex: '-1' }, title);
  main().replaceChildren(
    crumb || '',
    h('div', { class: 'page-head' }, h('div', {}, heading, lead ? h('p', {}, lead) : ''), actions || ''),
    ...content);
  heading.focus();
  for (const link of document.querySelectorAll('#nav a')) {
    const current = location.hash.startsWith(`#/${link.dataset.section}`);
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function contractPage() {
  const choices = session.contracts.map((contract) => h('li', {},
    h('button', { type: 'button', class: contract === session.contract ? '' : 'secondary', onclick: () => switchContract(contract) },
      `Contract ${contract}`)));
  page('Choose a contract', [h('div', { class: 'card' }, h('ul', { class: 'actions' }, choices))], {
    lead: 'Your account belongs to several contracts. Pick the one to work in; you can switch at any time at the top of the page.',
  });
}

// ---- Access tokens

async function tokensPage(mine) {
  const secretSlot = h('div', {});
  const listSlot = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
  const generateErrors = h('div', {});
  const lifetimeId = uid('lifetime');
  const lifetime = h('select', { id: lifetimeId },
    LIFETIMES.map(([label, seconds]) => h('option', { value: seconds, selected: seconds === 86400 }, label)));
  const generate = h('form', { class: 'card' },
    h('h2', {}, 'Generate a token'),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: lifetimeId }, 'Lifetime'), lifetime),
      h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Generate token'))),
    generateErrors);
  const generateButton = generate.querySelector('button');
  generate.addEventListener('submit', (event) => {
    event.preventDefault();
    showError(generateErrors, '');
    busy(generateButton, () => generateToken());
  });
  const generateToken = async () => {
    try {
      const { data } = await api('GET', `/auth/v1/tokens/generate?ttl=${lifetime.value}`);
      showSecret(secretSlot, 'Your new access token', [
        secretValue('Access token', data.token, 'token'),
        h('p', {}, 'Send it as ', h('code', {}, 'Authorization: Bearer <token>'), '. This is the only time it is shown: store it now.'),
      ]);
      await loadTokens(listSlot);
    } catch (error) {
      showError(generateErrors, error.message);
    }
  };
  const expiredErrors = h('div', {});
  const deleteExpired = h('button', { type: 'button', class: 'secondary' }, 'Delete expired tokens');
  deleteExpired.addEventListener('click', () => busy(deleteExpired, async () => {
    showError(expiredErrors, '');
    try {
      await api('DELETE', '/auth/v1/tokens?criteria=EXPIRED');
      announce('Expired tokens deleted');
      await loadTokens(listSlot);
    } catch (error) {
      showError(expiredErrors, error.message);
    }
  }));
  page('Access tokens', [secretSlot, generate,
    h('section', { class: 'card', 'aria-labelledby': 'tokens-heading' },
      h('div', { class: 'page-head' }, h('h2', { id: 'tokens-heading', tabindex: '-1' }, 'Your tokens in this contract'), deleteExpired),
      expiredErrors, listSlot)], {
    lead: 'Access tokens let scripts and tools call the Tollgate APIs as you, in this contract, until they expire or you revoke them.',
  });
  if (stale(mine)) return;
  await loadTokens(listSlot);
}

async function loadTokens(slot) {
  try {
    const { data } = await api('GET', '/auth/v1/tokens');
    const tokens = data.tokens || [];
    if (!tokens.length) {
      slot.replaceChildren(h('p', { class: 'empty' }, 'You have no access tokens in this contract.'));
      return;
    }
    const rows = tokens.map((token) => {
      const errors = h('div', {});
      const revoke = h('button', { type: 'button', class: 'quiet danger-text', 'aria-label': `Revoke token ${token.id}` }, 'Revoke');
      revoke.addEventListener('click', () => busy(revoke, async () => {
        const sure = await confirmDialog({
          title: 'Revoke this access token?',
          body: [`Token ${token.id} stops working at once, everywhere it is used.`, 'This cannot be undone.'],
          confirmLabel: 'Revoke token',
        });
        if (!sure) return;
        try {
          await api('DELETE', `/auth/v1/tokens/${encodeURIComponent(token.id)}`);
          announce('Token revoked');
          await loadTokens(slot);
          focusById('tokens-heading');
        } catch (error) {
          showError(errors, error.message);
        }
      }));
      return row(
        cell('Token', h('span', { class: 'mono' }, token.id)),
        cell('Created', formatDate(token.createdDate)),
        cell('Expires', formatDate(token.expirationDate), ' ', expiryBadge(token.expirationDate)),
        cell('Last used', token.lastUsedDate ? `${formatDate(token.lastUsedDate)} from ${token.lastUsedFrom || 'unknown'}` : 'never'),
        cell('Actions', revoke, errors));
    });
    slot.replaceChildren(table('Access tokens', ['Token', 'Created', 'Expires', 'Last used', h('span', { class: 'visually-hidden' }, 'Actions')], rows));
  } catch (error) {
    slot.replaceChildren(errorBox(error.message));
  }
}

function secretValue(label, value, what) {
  const id = uid('secret');
  const output = h('output', { id, 'aria-label': label, class: 'mono' }, value);
  return h('div', {}, h('label', { for: id }, label), h('div', { class: 'secret-value' }, output, copyButton(output, what)));
}

function showSecret(slot, title, content) {
  const titleId = uid('secret-title');
  const dismiss = h('button', {
    type: 'button',
    class: 'secondary',
    onclick: () => {
      slot.replaceChildren();
      main().querySelector('h1').focus();
    },
  }, 'I have stored it');
  slot.replaceChildren(h('section', { class: 'card secret', 'aria-labelledby': titleId },
    h('h2', { id: titleId, tabindex: '-1' }, title), ...content, dismiss));
  slot.querySelector('h2').focus();
}

// ---- Registries

async function registriesPage() {
  const listSlot = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
  const formSlot = h('div', {});
  const create = h('button', { type: 'button' }, 'New registry');
  create.addEventListener('click', () => busy(create, async () => {
    try {
      formSlot.replaceChildren(await registryForm(null, async (registry) => {
        formSlot.replaceChildren();
        announce(`Registry ${registry.properties.name} created`);
        location.hash = `#/registries/${registry.id}`;
      }, () => formSlot.replaceChildren()));
      formSlot.querySelector('input').focus();
    } catch (error) {
      formSlot.replaceChildren(h('div', { class: 'card' }, errorBox(error.message)));
    }
  }));
  page('Registries', [formSlot, listSlot], {
    lead: 'Container registries of this contract. Registry tokens, made per registry, are what docker, podman and skopeo log in with.',
    actions: create,
  });
  try {
    const registries = await allRegistries();
    if (!registries.length) {
      listSlot.replaceChildren(h('div', { class: 'card' }, h('p', { class: 'empty' }, 'This contract has no registries yet.')));
      return;
    }
    const rows = registries.map((registry) => row(
      cell('Name', h('a', { href: `#/registries/${registry.id}` }, registry.properties.name)),
      cell('Hostname', h('span', { class: 'mono' }, registry.properties.hostname)),
      cell('Location', registry.properties.location),
      cell('Storage used', formatBytes((registry.properties.storageUsage || {}).bytes)),
      cell('Created', formatDate(registry.metadata.createdDate)),
      cell('State', h('span', { class: 'badge ok' }, registry.metadata.state))));
    listSlot.replaceChildren(h('div', { class: 'card' }, table('Registries', ['Name', 'Hostname', 'Location', 'Storage used', 'Created', 'State'], rows)));
  } catch (error) {
    const refused = error.status === 403;
    if (refused) create.remove();
    const title = refused ? 'Registries are not available to you' : 'The registries could not be read';
    listSlot.replaceChildren(h('div', { class: 'card' }, h('h2', {}, title), errorBox(error.message)));
  }
}

async function allRegistries() {
  const registries = [];
  const seen = new Set();
  let token = '';
  do {
    seen.add(token);
    const query = token ? `?limit=100&pagination.token=${encodeURIComponent(token)}` : '?limit=100';
    const { data } = await api('GET', `${registriesApi}${query}`);
    registries.push(...(data.items || []));
    token = data.pagination && data.pagination.token;
  } while (token && !seen.has(token));
  return registries;
}

/** The form to create a registry (`registry` null) or edit one's settings. */
async function registryForm(registry, done, cancel) {
  const errors = h('div', {});
  const fields = [];
  let name;
  let locationSelect;
  if (!registry) {
    const nameStatus = h('div', { id: 'registry-name-status', class: 'field-status', 'aria-live': 'polite' });
    name = h('input', { type: 'text', id: 'registry-name', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'registry-name-hint registry-name-status' });
    let check = 0;
    name.addEventListener('input', () => {
      const value = name.value;
      const mine = ++check;
      if (!value) { nameStatus.textContent = ''; name.removeAttribute('aria-invalid'); return; }
      if (!REGISTRY_NAME.test(value)) {
        nameStatus.className = 'field-status bad';
        nameStatus.textContent = 'Use 3 to 63 characters: a-z, 0-9 or -, starting with a letter and ending with a letter or digit.';
        name.setAttribute('aria-invalid', 'true');
        return;
      }
      nameStatus.className = 'field-status';
      nameStatus.textContent = 'Checking…';
      setTimeout(async () => {
        if (mine !== check) return;
        try {
          const { status } = await api('HEAD', `/containerregistries/names/${encodeURIComponent(value)}`);
          if (mine !== check) return;
          const free = status === 404;
          nameStatus.className = `field-status ${free ? 'good' : 'bad'}`;
          nameStatus.textContent = free ? `${value} is available.` : (status === 200 ? `${value} is taken: choose another name.` : `The name could not be checked (${status}).`);
          if (free) name.removeAttribute('aria-invalid'); else name.setAttribute('aria-invalid', 'true');
        } catch (error) {
          nameStatus.textContent = error.message;
        }
      }, 250);
    });
    const { data } = await api('GET', '/containerregistries/locations');
    locationSelect = h('select', { id: 'registry-location' }, data.items.map((item) => h('option', { value: item.id }, item.id)));
    fields.push(
      h('div', { class: 'field' }, h('label', { for: 'registry-name' }, 'Name'), name,
        h('div', { id: 'registry-name-hint', class: 'hint' }, 'Part of the registry\'s hostname; it cannot be changed later.'), nameStatus),
      h('div', { class: 'field' }, h('label', { for: 'registry-location' }, 'Location'), locationSelect));
  }
  const schedule = registry ? registry.properties.garbageCollectionSchedule : { days: [], time: '' };
  const dayBoxes = DAYS.map((day) => h('input', { type: 'checkbox', value: day, checked: (schedule.days || []).includes(day) }));
  const timeId = uid('gc-time');
  const time = h('input', { type: 'time', id: timeId, step: 60, value: (schedule.time || '').slice(0, 5) });
  const allowId = uid('allow-list');
  const allowList = h('textarea', { id: allowId, 'aria-describedby': `${allowId}-hint`, spellcheck: 'false' },
    (registry ? registry.properties.apiSubnetAllowList : []).join('\n'));
  fields.push(
    h('fieldset', {},
      h('legend', {}, 'Garbage collection'),
      h('div', { class: 'checks', role: 'group', 'aria-label': 'Days' }, dayBoxes.map((box, i) => h('label', {}, box, DAYS[i]))),
      h('div', { class: 'field' }, h('label', { for: timeId }, 'Time of day (UTC)'), time),
      h('p', { class: 'hint' }, 'Unreferenced layers are removed on these days. Leave all days unticked for no schedule.')),
    h('div', { class: 'field' }, h('label', { for: allowId }, 'Subnet allow list'), allowList,
      h('div', { id: `${allowId}-hint`, class: 'hint' },
        'One address or CIDR per line (a single address means /32 or /128). Empty: no restriction. 0.0.0.0/0 denies all traffic.')));
  const submit = h('button', { type: 'submit' }, registry ? 'Save settings' : 'Create registry');
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, registry ? 'Settings' : 'New registry'),
    ...fields, errors,
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(errors, '');
    const days = dayBoxes.filter((box) => box.checked).map((box) => box.value);
    if (days.length && !time.value) {
      showError(errors, 'Choose the time of day for garbage collection, or untick every day.');
      time.focus();
      return;
    }
    const properties = {
      garbageCollectionSchedule: { days, time: time.value ? `${time.value}:00+00:00` : '00:00:00+00:00' },
      apiSubnetAllowList: allowList.value.split(/[\s,]+/).filter(Boolean),
    };
    submit.disabled = true;
    try {
      let answer;
      if (registry) {
        answer = await api('PATCH', `${registriesApi}/${registry.id}`, properties);
      } else {
        answer = await api('POST', registriesApi, { properties: { name: name.value, location: locationSelect.value, ...properties } });
      }
      await done(answer.data);
    } catch (error) {
      submit.disabled = false;
      showError(errors, error.message);
    }
  });
  return form;
}

async function registryPage(id, mine) {
  page('Registry', [h('p', { class: 'empty' }, 'Loading…')]);
  let registry;
  try {
    ({ data: registry } = await api('GET', `${registriesApi}/${encodeURIComponent(id)}`));
  } catch (error) {
    if (!stale(mine)) page('Registry', [errorBox(error.message)], { crumb: backToRegistries() });
    return;
  }
  if (stale(mine)) return; // the person moved on while this loaded
  const { name, hostname, location: where, garbageCollectionSchedule: gc, apiSubnetAllowList: allow } = registry.properties;
  const settingsSlot = h('div', {});
  const secretSlot = h('div', {});
  const tokensSlot = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
  const repositoriesSlot = h('div', {}, h('p', { class: 'empty' }, 'Loading…'));
  const deleteErrors = h('div', {});
  const edit = h('button', { type: 'button', class: 'secondary' }, 'Edit settings');
  edit.addEventListener('click', async () => {
    settingsSlot.replaceChildren(await registryForm(registry, async () => {
      announce('Settings saved');
      await registryPage(id, mine);
    }, () => settingsSlot.replaceChildren()));
    settingsSlot.querySelector('input').focus();
  });
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete registry');
  remove.addEventListener('click', () => busy(remove, async () => {
    let tokens = [];
    try { tokens = await registryTokens(id); } catch { tokens = []; }
    const names = tokens.map((t) => t.properties.name);
    const sure = await confirmDialog({
      title: `Delete registry ${name}?`,
      body: [
        `The registry ${hostname} and everything stored in it are lost.`,
        names.length
          ? `Its ${names.length} registry token${names.length === 1 ? '' : 's'} (${names.join(', ')}) stop working at once.`
          : 'It has no registry tokens.',
        'This cannot be undone.',
      ],
      confirmLabel: 'Delete registry',
    });
    if (!sure) return;
    try {
      await api('DELETE', `${registriesApi}/${encodeURIComponent(id)}`);
      announce(`Registry ${name} deleted`);
      location.hash = '#/registries';
    } catch (error) {
      showError(deleteErrors, error.message);
    }
  }));
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Hostname'), h('dd', { class: 'mono' }, hostname),
    h('dt', {}, 'Location'), h('dd', {}, where),
    h('dt', {}, 'Garbage collection'), h('dd', {}, gc.days.length ? `${gc.days.join(', ')} at ${gc.time.slice(0, 5)} UTC` : 'not scheduled'),
    h('dt', {}, 'Subnet allow list'), h('dd', {}, allow.length ? allow.join(', ') : 'no restriction'),
    h('dt', {}, 'Storage used'), h('dd', {}, storageUsed(registry)),
    h('dt', {}, 'Created'), h('dd', {}, `${formatDate(registry.metadata.createdDate)} by ${registry.metadata.createdBy}`));
  const createToken = h('button', { type: 'button' }, 'New token');
  const tokenFormSlot = h('div', {});
  createToken.addEventListener('click', () => {
    tokenFormSlot.replaceChildren(tokenForm(registry, async (created) => {
      tokenFormSlot.replaceChildren();
      const { username, password } = created.properties.credentials;
      showSecret(secretSlot, `Token ${username} created`, [
        secretValue('User name', username, 'user name'),
        secretValue('Password', password, 'password'),
        secretValue('Log in with', `docker login ${hostname} -u ${username} --password-stdin`, 'command'),
        h('p', {}, 'The password is shown only this once: store it now. Paste it when docker asks, or pipe it into the command above.'),
      ]);
      await loadRegistryTokens(registry, tokensSlot);
    }, () => tokenFormSlot.replaceChildren()));
    tokenFormSlot.querySelector('input').focus();
  });
  page(name, [
    h('section', { class: 'card', 'aria-label': 'Registry settings' }, facts, h('div', { class: 'actions' }, edit, remove), deleteErrors),
    settingsSlot, secretSlot, tokenFormSlot,
    h('section', { class: 'card', 'aria-labelledby': 'registry-tokens-heading' },
      h('div', { class: 'page-head' }, h('h2', { id: 'registry-tokens-heading', tabindex: '-1' }, 'Registry tokens'), createToken),
      tokensSlot),
    h('section', { class: 'card', 'aria-labelledby': 'repositories-heading' },
      h('h2', { id: 'repositories-heading', tabindex: '-1' }, 'Repositories'),
      h('p', { class: 'hint' }, 'What the registry reports of itself: pushes, pulls and tags, from its event notifications.'),
      repositoriesSlot),
  ], { lead: `Registry ${hostname}`, crumb: backToRegistries() });
  await Promise.all([loadRegistryTokens(registry, tokensSlot), loadRepositories(registry, repositoriesSlot)]);
}

/** The registry's repositories, most recently pushed first; each opens
 *  onto its artifacts (digest, tags, pulls). */
async function loadRepositories(registry, slot) {
  const base = `${registriesApi}/${encodeURIComponent(registry.id)}/repositories`;
  let repositories;
  try {
    repositories = await everyItem(base, { orderBy: '-lastPush' });
  } catch (error) {
    slot.replaceChildren(errorBox(error.message));
    return;
  }
  if (!repositories.length) {
    slot.replaceChildren(h('p', { class: 'empty' }, 'Nothing has been reported yet: connect the registry (tollgate admin registry-connect) and push an image.'));
    return;
  }
  const rows = repositories.map((repository) => {
    const m = repository.metadata;
    const name = repository.properties.name;
    const artifactsSlot = h('div', {});
    const show = h('button', { type: 'button', class: 'quiet', 'aria-expanded': 'false', 'aria-label': `Artifacts of ${name}` }, 'Artifacts');
    show.addEventListener('click', () => busy(show, async () => {
      if (show.getAttribute('aria-expanded') === 'true') {
        artifactsSlot.replaceChildren();
        show.setAttribute('aria-expanded', 'false');
        return;
      }
      try {
        const artifacts = await everyItem(`${base}/${encodeURIComponent(name)}/artifacts`);
        artifactsSlot.replaceChildren(h('ul', { class: 'scopes' }, artifacts.map((a) => h('li', {},
          h('span', { class: 'mono' }, a.properties.tags.length ? a.properties.tags.join(', ') : '(untagged)'), ' ',
          h('span', { class: 'mono' }, a.id.slice(0, 19)), `… pulled ${a.metadata.pullCount}×`))));
        show.setAttribute('aria-expanded', 'true');
      } catch (error) {
        artifactsSlot.replaceChildren(errorBox(error.message));
      }
    }));
    return row(
      cell('Repository', h('span', { class: 'mono' }, name)),
      cell('Artifacts', String(m.artifactCount)),
      cell('Pulls', String(m.pullCount)),
      cell('Pushes', String(m.pushCount)),
      cell('Last push', formatDate(m.lastPushedAt)),
      cell('Last push by', m.lastModifiedBy ? h('span', { class: 'mono' }, m.lastModifiedBy) : 'unknown'),
      cell('Last pull', m.lastPulledAt ? formatDate(m.lastPulledAt) : 'never'),
      cell('Details', show, artifactsSlot));
  });
  slot.replaceChildren(table(`Repositories of ${registry.properties.name}`,
    ['Repository', 'Artifacts', 'Pulls', 'Pushes', 'Last push', 'Last push by', 'Last pull', h('span', { class: 'visually-hidden' }, 'Details')], rows));
}

/** Every item of an offset-paged list (repositories, artifacts): its
 *  pages are read while each links to a next one. */
async function everyItem(path, parameters = {}) {
  const items = [];
  for (;;) {
    const query = new URLSearchParams({ ...parameters, offset: String(items.length), limit: '1000' });
    const { data } = await api('GET', `${path}?${query}`);
    const page = data.items || [];
    items.push(...page);
    if (!page.length || !(data._links && data._links.next)) return items;
  }
}

function backToRegistries() {
  return h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/registries' }, '← All registries'));
}

async function registryTokens(registryId) {
  const tokens = [];
  for (;;) {
    const { data } = await api('GET', `${registriesApi}/${encodeURIComponent(registryId)}/tokens?offset=${tokens.length}&limit=100`);
    const items = data.items || [];
    tokens.push(...items);
    if (!items.length || tokens.length >= data.total) return tokens;
  }
}

async function loadRegistryTokens(registry, slot) {
  let tokens;
  try {
    tokens = await registryTokens(registry.id);
  } catch (error) {
    slot.replaceChildren(errorBox(error.message));
    return;
  }
  if (!tokens.length) {
    slot.replaceChildren(h('p', { class: 'empty' }, 'This registry has no tokens yet.'));
    return;
  }
  const tokenPath = (token) => `${registriesApi}/${encodeURIComponent(registry.id)}/tokens/${encodeURIComponent(token.id)}`;
  const rows = tokens.map((token) => {
    const p = token.properties;
    const errors = h('div', {});
    const enabled = p.status === 'enabled';
    const toggle = h('button', { type: 'button', class: 'quiet', 'aria-label': `${enabled ? 'Disable' : 'Enable'} token ${p.name}` }, enabled ? 'Disable' : 'Enable');
    toggle.addEventListener('click', () => busy(toggle, async () => {
      try {
        await api('PATCH', tokenPath(token), { status: enabled ? 'disabled' : 'enabled' });
        announce(`Token ${p.name} ${enabled ? 'disabled' : 'enabled'}`);
        await loadRegistryTokens(registry, slot);
        focusButton(`${enabled ? 'Enable' : 'Disable'} token ${p.name}`);
      } catch (error) {
        showError(errors, error.message);
      }
    }));
    const expiry = h('button', { type: 'button', class: 'quiet', 'aria-label': `Change expiry of token ${p.name}` }, 'Change expiry');
    expiry.addEventListener('click', () => busy(expiry, async () => {
      const chosen = await expiryDialog(p.name, p.expiryDate);
      if (chosen === undefined) return;
      try {
        await api('PATCH', tokenPath(token), { expiryDate: chosen });
        announce(`Expiry of token ${p.name} changed`);
        await loadRegistryTokens(registry, slot);
        focusButton(`Change expiry of token ${p.name}`);
      } catch (error) {
        showError(errors, error.message);
      }
    }));
    const remove = h('button', { type: 'button', class: 'quiet danger-text', 'aria-label': `Delete token ${p.name}` }, 'Delete');
    remove.addEventListener('click', () => busy(remove, async () => {
      const sure = await confirmDialog({
        title: `Delete token ${p.name}?`,
        body: [`Everything that logs in to ${registry.properties.hostname} as ${p.name} is refused from now on.`, 'This cannot be undone.'],
        confirmLabel: 'Delete token',
      });
      if (!sure) return;
      try {
        await api('DELETE', tokenPath(token));
        announce(`Token ${p.name} deleted`);
        await loadRegistryTokens(registry, slot);
        focusById('registry-tokens-heading');
      } catch (error) {
        showError(errors, error.message);
      }
    }));
    return row(
      cell('Name', h('span', { class: 'mono' }, p.name)),
      cell('Status', h('span', { class: `badge ${enabled ? 'ok' : 'off'}` }, p.status)),
      cell('Expires', p.expiryDate ? formatDate(p.expiryDate) : '', ' ', expiryBadge(p.expiryDate)),
      cell('Scopes', h('ul', { class: 'scopes' }, (p.scopes || []).map((s) => h('li', {}, h('span', { class: 'mono' }, s.name), `: ${s.actions.join(', ')}`)))),
      cell('Last used', p.lastUsedDate ? `${formatDate(p.lastUsedDate)} from ${p.lastUsedFrom || 'unknown'}` : 'never'),
      cell('Actions', h('div', { class: 'actions' }, toggle, expiry, remove), errors));
  });
  slot.replaceChildren(table(`Tokens of ${registry.properties.name}`,
    ['Name', 'Status', 'Expires', 'Scopes', 'Last used', h('span', { class: 'visually-hidden' }, 'Actions')], rows));
}

/** `datetime-local` value of an RFC 3339 date, in local time. */
function localInputValue(text) {
  const date = new Date(text || '');
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The RFC 3339 date (UTC) of a `datetime-local` value; null when it is
 *  no date, or outside the years RFC 3339 can write. */
function fromLocalInput(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) return null;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const BAD_DATE = 'Enter a complete date and time (day, month, year, hours and minutes).';

/** Asks for a new expiry: a date, or null for none; undefined when cancelled. */
function expiryDialog(name, current) {
  return new Promise((resolve) => {
    const titleId = uid('expiry-title');
    const inputId = uid('expiry');
    const input = h('input', { type: 'datetime-local', id: inputId, value: localInputValue(current) });
    const never = h('input', { type: 'checkbox', checked: !current });
    const errors = h('div', {});
    const form = h('form', { method: 'dialog' },
      h('h2', { id: titleId }, `Expiry of ${name}`),
      h('div', { class: 'field' }, h('label', { for: inputId }, 'Expires at (your local time)'), input),
      h('div', { class: 'checks' }, h('label', {}, never, 'Never expires')),
      errors,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close('cancel') }, 'Cancel'),
        h('button', { type: 'submit', value: 'save' }, 'Save expiry')));
    const dialog = h('dialog', { 'aria-labelledby': titleId }, form);
    let result;
    form.addEventListener('submit', (event) => {
      if (!never.checked && !input.value) {
        event.preventDefault();
        showError(errors, 'Choose a date, or tick "Never expires".');
        return;
      }
      result = never.checked ? null : fromLocalInput(input.value);
      if (result === null && !never.checked) {
        event.preventDefault();
        showError(errors, BAD_DATE);
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'save' ? result : undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The form that creates a registry token, with its scope editor. */
function tokenForm(registry, done, cancel) {
  const errors = h('div', {});
  const nameId = uid('token-name');
  const name = h('input', { type: 'text', id: nameId, required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${nameId}-hint` });
  const expiryId = uid('token-expiry');
  const expiry = h('input', { type: 'datetime-local', id: expiryId, 'aria-describedby': `${expiryId}-hint` });
  const scopeRows = h('div', {});
  const addScope = (pattern = '', actions = ['pull']) => {
    const index = uid('scope');
    const patternInput = h('input', { type: 'text', id: index, value: pattern, spellcheck: 'false', placeholder: 'team/*' });
    const boxes = ACTIONS.map((action) => h('input', { type: 'checkbox', value: action, checked: actions.includes(action) }));
    const scopeRow = h('div', { class: 'scope-row', role: 'group', 'aria-label': 'Scope' },
      h('label', { for: index, class: 'visually-hidden' }, 'Repository pattern'), patternInput,
      h('div', { class: 'checks' }, boxes.map((box, i) => h('label', {}, box, ACTIONS[i]))),
      h('button', { type: 'button', class: 'quiet danger-text', onclick: () => scopeRow.remove() }, 'Remove'));
    scopeRow.scope = () => ({ type: 'repository', name: patternInput.value.trim(), actions: boxes.filter((b) => b.checked).map((b) => b.value) });
    scopeRows.append(scopeRow);
    return patternInput;
  };
  addScope('*', ['pull']);
  const submit = h('button', { type: 'submit' }, 'Create token');
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, `New token for ${registry.properties.name}`),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: nameId }, 'Name'), name,
        h('div', { id: `${nameId}-hint`, class: 'hint' }, 'The user name at docker login: letters, digits and -, starting with a letter.')),
      h('div', { class: 'field' }, h('label', { for: expiryId }, 'Expires at (optional)'), expiry,
        h('div', { id: `${expiryId}-hint`, class: 'hint' }, 'Your local time. Leave empty for a token that never expires.'))),
    h('fieldset', {},
      h('legend', {}, 'Scopes'),
      h('p', { class: 'hint' }, 'Which repositories the token may use, and how. A pattern may end in * (team/* is every repository under team/; * is all).'),
      scopeRows,
      h('button', { type: 'button', class: 'secondary', onclick: () => addScope('', ['pull']).focus() }, 'Add scope')),
    errors,
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(errors, '');
    const scopes = [...scopeRows.children].map((scopeRow) => scopeRow.scope());
    if (scopes.some((s) => !s.name || !s.actions.length)) {
      showError(errors, 'Every scope needs a repository pattern and at least one action.');
      return;
    }
    const properties = { name: name.value.trim(), scopes };
    if (expiry.value) {
      properties.expiryDate = fromLocalInput(expiry.value);
      if (!properties.expiryDate) {
        showError(errors, BAD_DATE);
        expiry.focus();
        return;
      }
    }
    submit.disabled = true;
    try {
      const { data } = await api('POST', `${registriesApi}/${encodeURIComponent(registry.id)}/tokens`, { properties });
      await done(data);
    } catch (error) {
      submit.disabled = false;
      showError(errors, error.message);
    }
  });
  return form;
}

// ---------------------------------------------------------------- routing

let routeCount = 0;

/** Whether the person has moved on from the page that `mine` rendered. */
function stale(mine) {
  return mine !== routeCount;
}

async function route() {
  const mine = ++routeCount;
  if (!session) {
    showSignIn();
    return;
  }
  renderChrome();
  const hash = location.hash || '#/tokens';
  const registry = hash.match(/^#\/registries\/([^/]+)$/);
  let registryId = null;
  try { registryId = registry && decodeURIComponent(registry[1]); } catch { registryId = null; }
  if (hash === '#/contract') contractPage();
  else if (hash === '#/registries') await registriesPage();
  else if (registryId) await registryPage(registryId, mine);
  else if (hash === '#/tokens') await tokensPage(mine);
  else location.replace('#/tokens'); // an unknown address: the first page
}

async function start() {
  // The skip link moves focus, not the address (a hash change would route).
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    main().focus();
  });
  try {
    const { data } = await api('GET', '/console/session');
    session = data;
  } catch {
    session = null;
  }
  window.addEventListener('hashchange', () => route());
  await route();
}

start();

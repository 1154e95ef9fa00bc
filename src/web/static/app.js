// The owner's page. Plain JavaScript, no dependencies, no inline script (the CSP forbids it). Every value from
// the server is put into the page with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { csrf: '', page: 0, total: 0, pageSize: 20, selected: new Set(), privacy: null };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function say(msg, kind) {
  const s = $('status');
  s.textContent = msg;
  s.className = 'status' + (kind ? ' ' + kind : '');
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, url, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    init.headers['X-CSRF-Token'] = state.csrf;
    init.body = JSON.stringify(body || {});
  }
  const r = await fetch(url, init);
  const type = r.headers.get('Content-Type') || '';
  if (!r.ok) {
    const b = type.includes('json') ? await r.json().catch(() => null) : null;
    if (r.status === 401) showUnpaired();
    throw new ApiError(r.status, b);
  }
  return type.includes('json') ? r.json() : r;
}

const when = (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

function showUnpaired() {
  for (const s of document.querySelectorAll('[data-page]')) s.hidden = true;
  $('nav').hidden = true;
  $('who').hidden = true;
  $('notices').hidden = true;
  $('unpaired').hidden = false;
}

// ── navigation: one section at a time, chosen by the URL's #fragment; focus moves to its heading
const SECTIONS = ['recordings', 'privacy', 'data', 'activity', 'speaker', 'sessions'];
const LOADERS = { recordings: loadRecordings, privacy: loadPrivacy, data: async () => {}, activity: loadActivity, speaker: loadSpeaker, sessions: loadSessions };

async function show(focus) {
  const name = SECTIONS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'recordings';
  for (const s of SECTIONS) $(s).hidden = s !== name;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.section === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    await LOADERS[name]();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) say(e.message, 'error');
  }
  if (focus) $(`${name}-h`).focus();
}

// ── recordings
async function loadRecordings() {
  const r = await api('GET', `/api/recordings?page=${state.page}`);
  state.total = r.total;
  state.pageSize = r.pageSize;
  state.selected.clear();
  const list = $('recording-list');
  list.replaceChildren();
  if (r.items.length === 0) list.append(el('li', { class: 'empty', text: 'No recordings are stored for you.' }));
  for (const it of r.items) list.append(recordingCard(it));
  const pages = Math.max(1, Math.ceil(r.total / r.pageSize));
  $('page-info').textContent = `Page ${state.page + 1} of ${pages} (${r.total} recordings)`;
  $('prev-page').disabled = state.page === 0;
  $('next-page').disabled = state.page + 1 >= pages;
  updateDeleteButton();
}

function retentionText(it) {
  if (it.deleteAt === 'after-upload') return it.uploaded ? 'Deleted now that it was sent' : 'Deleted once it has been sent';
  if (it.deleteAt === null) return 'Kept until you delete it';
  return `Deleted by retention on ${when(it.deleteAt)}`;
}

function recordingCard(it) {
  const titleId = `rec-${it.id}-title`;
  const player = el('div', { class: 'player' });
  const check = el('input', { type: 'checkbox', id: `sel-${it.id}`, 'aria-describedby': titleId });
  check.addEventListener('change', () => {
    if (check.checked) state.selected.add(it.id);
    else state.selected.delete(it.id);
    updateDeleteButton();
  });
  const flag = el('input', { type: 'checkbox', id: `fw-${it.id}`, checked: it.falseWake });
  flag.addEventListener('change', async () => {
    try {
      await api('POST', `/api/recordings/${encodeURIComponent(it.id)}/false-wake`, { on: flag.checked });
      card.classList.toggle('false-wake', flag.checked);
      say(flag.checked ? 'Marked as not meant for the speaker.' : 'Mark removed.');
    } catch (e) {
      flag.checked = !flag.checked;
      say(e.message, 'error');
    }
  });
  const play = el('button', { type: 'button', text: 'Play', 'aria-describedby': titleId });
  play.addEventListener('click', () => {
    player.replaceChildren();
    const audio = el('audio', { controls: true, preload: 'metadata', src: `/api/recordings/${encodeURIComponent(it.id)}/audio`, 'aria-label': `Recording from ${when(it.createdAt)}` });
    audio.dataset.recording = it.id;
    player.append(audio);
    audio.play().catch(() => undefined);
    audio.focus();
  });
  const del = el('button', { type: 'button', text: 'Delete', class: 'danger', 'aria-describedby': titleId });
  del.addEventListener('click', () => deleteRecordings([it.id]));
  const card = el(
    'li',
    { class: 'card' + (it.falseWake ? ' false-wake' : ''), 'data-recording': it.id },
    el('h3', { id: titleId, text: when(it.createdAt) }),
    el('p', { class: 'meta', text: `${secs(it.durationMs)} · wake word "${it.wakeword.replace(/_/g, ' ')}" (score ${it.score.toFixed(2)}) · ${it.uploaded ? 'sent to the cloud' : it.queued ? 'waiting to be sent' : 'kept on the speaker'}` }),
    el('p', { class: 'meta', text: retentionText(it) }),
    el('div', { class: 'actions' }, play, del, el('label', { class: 'inline', for: `sel-${it.id}` }, check, ' Select')),
    el('label', { class: 'inline', for: `fw-${it.id}` }, flag, ' Not meant for the speaker (false wake)'),
    player,
  );
  return card;
}

function updateDeleteButton() {
  const b = $('delete-selected');
  b.disabled = state.selected.size === 0;
  b.textContent = state.selected.size > 0 ? `Delete selected (${state.selected.size})` : 'Delete selected';
}

async function deleteRecordings(ids) {
  if (!confirm(ids.length === 1 ? 'Delete this recording from the speaker?' : `Delete ${ids.length} recordings from the speaker?`)) return;
  try {
    const r = await api('POST', '/api/recordings/delete', { ids });
    say(`${r.deleted} recording${r.deleted === 1 ? '' : 's'} deleted.`);
    if (state.page > 0 && (state.page * state.pageSize) >= state.total - r.deleted) state.page -= 1;
    await loadRecordings();
    $('recordings-h').focus();
  } catch (e) {
    say(e.message, 'error');
  }
}

// ── privacy
async function loadPrivacy(p) {
  p = p || (await api('GET', '/api/privacy'));
  state.privacy = p;
  const lo = $('local-only');
  lo.checked = p.localOnly.effective;
  lo.disabled = p.localOnly.forcedByFleet;
  const why = $('local-only-why');
  why.hidden = !p.localOnly.forcedByFleet;
  why.textContent = p.localOnly.why || '';
  const list = $('consent-list');
  list.replaceChildren();
  for (const c of p.consent) {
    const id = `consent-${c.purpose}`;
    const status = c.active
      ? `You agreed on ${when(c.since)}${c.decidedTextVersion && c.decidedTextVersion !== c.textVersion ? ` (to an earlier text, version ${c.decidedTextVersion})` : ''}.`
      : c.since ? `You withdrew on ${when(c.since)}.` : 'You have not agreed.';
    const button = el('button', { type: 'button', id: `${id}-button`, class: c.active ? 'danger' : '', 'aria-describedby': `${id}-text` , text: c.active ? `Withdraw consent: ${c.title}` : `I agree: ${c.title}` });
    button.addEventListener('click', async () => {
      try {
        const next = await api('POST', '/api/privacy/consent', { purpose: c.purpose, action: c.active ? 'withdraw' : 'grant', textVersion: c.textVersion });
        say(c.active ? `Consent withdrawn: ${c.title}.` : `Consent given: ${c.title}.`);
        await loadPrivacy(next);
        $(`${id}-button`).focus();
      } catch (e) {
        say(e.message, 'error');
      }
    });
    list.append(
      el('div', { class: 'card', role: 'group', 'aria-labelledby': `${id}-h` },
        el('h4', { id: `${id}-h`, text: c.title }),
        el('p', { id: `${id}-text`, text: c.text }),
        el('p', { class: 'meta', text: `Text version ${c.textVersion}. ${status}` }),
        button),
    );
  }
  $('retention-days').value = String(p.retentionDays);
  $('retention-effective').textContent =
    p.effectiveRetentionDays !== p.retentionDays
      ? `The fleet manager limits retention on this speaker to ${p.effectiveRetentionDays} days, so that is what applies.`
      : p.retentionDays === 0 ? 'Recordings are deleted as soon as the cloud confirmed it received them.' : `Recordings are deleted ${p.retentionDays} days after they were made.`;
}

// ── activity, speaker, sessions
const ACTIVITY = {
  'owner.added': 'You were added as an owner',
  'owner.activated': 'The speaker started recording for you',
  'recording.created': 'A recording was stored',
  'recording.played': 'A recording was played',
  'recording.deleted': 'A recording was deleted',
  'recording.uploaded': 'A recording was sent to the cloud',
  'recording.upload-refused': 'A recording was not sent',
  'recording.flagged': 'A recording was marked as not meant for the speaker',
  'export.created': 'Your data was exported',
  'consent.changed': 'Your consent changed',
  'local-only.changed': 'Local-only mode changed',
  'retention.changed': 'Retention changed',
  'retention.swept': 'Old recordings were deleted by retention',
  'incident': 'An incident was recorded',
  'web.pairing-created': 'A pairing link was made',
  'web.session-started': 'A browser was paired',
  'web.session-ended': 'A browser was signed out',
  'notice.acknowledged': 'You acknowledged a notice',
  'verifier.enrolled': 'Your voice was enrolled for a wake word',
  'verifier.removed': 'Your voice enrolment for a wake word was removed',
};

function activityDetail(e) {
  const d = e.detail || {};
  const bits = [];
  if (d.source) bits.push(`from ${d.source === 'owner-page' ? 'this page' : d.source === 'owner-cli' ? 'the command line' : d.source}`);
  if (e.type === 'consent.changed') bits.unshift(`${d.action === 'grant' ? 'granted' : 'withdrawn'}: ${d.purpose}`);
  if (e.type === 'local-only.changed') bits.unshift(d.localOnly ? 'on' : 'off');
  if (e.type === 'retention.changed') bits.unshift(`${d.retentionDays} days`);
  if (e.type === 'retention.swept') bits.unshift(`${d.deleted} deleted`);
  if (e.type === 'recording.deleted' && d.reason && d.reason !== 'owner-request') bits.unshift(String(d.reason));
  if (e.type === 'export.created') bits.unshift(`${d.recordings} recordings`);
  if (e.type === 'recording.flagged' && d.falseWake === false) bits.unshift('mark removed');
  if (e.type === 'incident' && d.kind) bits.unshift(String(d.kind));
  return bits.join(', ');
}

async function loadActivity() {
  const r = await api('GET', '/api/activity');
  const list = $('activity-list');
  list.replaceChildren();
  for (const e of r.entries) {
    const detail = activityDetail(e);
    list.append(el('li', {}, el('time', { datetime: new Date(e.at).toISOString(), text: when(e.at) }), ' ', ACTIVITY[e.type] || e.type, detail ? ` (${detail})` : ''));
  }
}

async function loadSpeaker() {
  const s = await api('GET', '/api/speaker');
  const facts = [
    ['Listening', s.listening.state === 'listening' ? 'Yes' : s.listening.state === 'stopped' ? `Not right now (last seen ${when(s.listening.since)})` : 'Not yet: the speaker has not run'],
    ['Local-only for you', s.localOnly ? 'On: nothing leaves the speaker' : 'Off'],
    ['Uploads on this speaker', s.uploadsEnabled ? 'Allowed (still only with your consent)' : 'Switched off'],
    ['Your recordings waiting to be sent', String(s.queued)],
    ['Last fleet configuration', s.lastFleet ? `${s.lastFleet.result === 'applied' ? 'Applied' : 'Refused'}${s.lastFleet.version !== null ? ` (version ${s.lastFleet.version})` : ''}${s.lastFleet.reason ? `: ${s.lastFleet.reason}` : ''}, ${when(s.lastFleet.at)}` : 'None received'],
  ];
  const dl = $('speaker-facts');
  dl.replaceChildren();
  for (const [k, v] of facts) dl.append(el('dt', { text: k }), el('dd', { text: v }));
}

async function loadSessions() {
  const r = await api('GET', '/api/sessions');
  const list = $('session-list');
  list.replaceChildren();
  for (const s of r.sessions) {
    const b = el('button', { type: 'button', class: 'danger', text: s.current ? 'Sign out (this browser)' : `Sign out ${s.browser}` });
    b.addEventListener('click', async () => {
      try {
        await api('POST', `/api/sessions/${encodeURIComponent(s.ref)}/revoke`, {});
        if (s.current) return showUnpaired();
        say(`${s.browser} signed out.`);
        await loadSessions();
      } catch (e) {
        say(e.message, 'error');
      }
    });
    list.append(el('li', { class: 'card' }, el('h3', { text: `${s.browser}${s.current ? ' (this browser)' : ''}` }), el('p', { class: 'meta', text: `Paired ${when(s.createdAt)}, last used ${when(s.lastSeenAt)}` }), b));
  }
}

// ── notices: a banner per unacknowledged notice
async function loadNotices() {
  const r = await api('GET', '/api/notices');
  const box = $('notices');
  box.replaceChildren();
  const open = r.notices.filter((n) => !n.acknowledged);
  box.hidden = open.length === 0;
  for (const n of open) {
    const b = el('button', { type: 'button', text: 'Got it', 'aria-describedby': `notice-${n.id}` });
    b.addEventListener('click', async () => {
      try {
        await api('POST', `/api/notices/${n.id}/ack`, {});
        await loadNotices();
        $('main').focus();
      } catch (e) {
        say(e.message, 'error');
      }
    });
    box.append(el('div', { class: 'notice', role: 'alert' }, el('p', { id: `notice-${n.id}` }, el('strong', { text: `${when(n.at)}: ` }), n.message), b));
  }
}

// ── forms
function wire() {
  window.addEventListener('hashchange', () => {
    say(''); // a message belongs to the section it was said in
    show(true);
  });
  $('prev-page').addEventListener('click', () => { state.page = Math.max(0, state.page - 1); loadRecordings().catch((e) => say(e.message, 'error')); });
  $('next-page').addEventListener('click', () => { state.page += 1; loadRecordings().catch((e) => say(e.message, 'error')); });
  $('delete-selected').addEventListener('click', () => deleteRecordings([...state.selected]));
  $('local-only').addEventListener('change', async (ev) => {
    const on = ev.target.checked;
    try {
      const p = await api('POST', '/api/privacy/local-only', { on });
      await loadPrivacy(p);
      say(on ? 'Local-only mode is on: nothing leaves the speaker.' : 'Local-only mode is off.');
    } catch (e) {
      ev.target.checked = !on;
      say(e.message, 'error');
    }
  });
  $('retention-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const p = await api('POST', '/api/privacy/retention', { days: Number($('retention-days').value) });
      await loadPrivacy(p);
      say(`Retention set to ${p.retentionDays} days.`);
    } catch (e) {
      say(e.message, 'error');
    }
  });
  $('export-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pass = $('export-pass').value;
    if (pass !== '' && pass.length < 8) return say('The passphrase needs at least 8 characters (or leave it empty).', 'error');
    say('Preparing your data…');
    $('export-button').disabled = true;
    try {
      const r = await api('POST', '/api/export', pass ? { passphrase: pass } : {});
      // A one-time link: the browser saves the bundle straight to a file, however large.
      const a = el('a', { href: r.download, download: '' });
      document.body.append(a);
      a.click();
      a.remove();
      $('export-pass').value = '';
      say('Your download has started.');
    } catch (e) {
      say(e.message, 'error');
    } finally {
      $('export-button').disabled = false;
    }
  });
  $('erase-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const confirmText = $('erase-confirm').value.trim();
    if (confirmText !== 'ERASE') return say('Type ERASE (in capitals) to confirm.', 'error');
    try {
      const r = await api('POST', '/api/erase', { confirm: confirmText });
      showUnpaired();
      $('unpaired-h').textContent = 'Your data was erased';
      say(`Erased: your key was destroyed and ${r.recordings} recordings deleted. This browser is signed out.`);
    } catch (e) {
      say(e.message, 'error');
    }
  });
  $('logout').addEventListener('click', async () => {
    try {
      await api('POST', '/api/logout', {});
      showUnpaired();
      say('Signed out.');
    } catch (e) {
      say(e.message, 'error');
    }
  });
}

async function pairFromLink() {
  const m = /^#c=([A-Za-z0-9_-]+)$/.exec(location.hash);
  // The code leaves the address bar at once (history, screenshots); it is sent only in the POST body.
  history.replaceState(null, '', '/');
  if (!m) return say('This pairing link is incomplete. Open the whole link printed by `earshot web pair`.', 'error');
  try {
    await api('POST', '/api/pair', { code: m[1] });
    say('Paired. Welcome!');
  } catch (e) {
    say(e.message, 'error');
  }
}

async function start() {
  wire();
  if (location.pathname === '/pair') await pairFromLink();
  let me;
  try {
    me = await api('GET', '/api/session');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) say(e.message, 'error');
    return showUnpaired();
  }
  state.csrf = me.csrf;
  $('who').textContent = `Signed in as ${me.name}`;
  $('who').hidden = false;
  $('nav').hidden = false;
  $('unpaired').hidden = true;
  await loadNotices().catch((e) => say(e.message, 'error'));
  await show(false);
  document.body.dataset.ready = 'true';
}

start();

#include "aggregator/coordinator/ui_page.h"

namespace scancov::aggregator {

std::string_view UiPageHtml() {
  return R"PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ScanCOV coordinator</title>
<link rel="stylesheet" href="/ui.css">
</head>
<body>
<header>
  <h1>ScanCOV coordinator</h1>
  <span id="updated" class="note">connecting&hellip;</span>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<main>
  <section>
    <h2>Sites</h2>
    <table id="sites">
      <thead><tr><th>Site</th><th>Name</th><th>Enabled</th><th>Connection</th><th>Last seen</th>
        <th>Activity (the node's own progress)</th><th>Approvals awaited or denied</th>
        <th>Device</th><th>Version</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Studies</h2>
    <div id="studies"></div>
  </section>
  <section>
    <h2>Recent failures</h2>
    <p id="audit-note" class="note"></p>
    <table id="failures">
      <thead><tr><th>When</th><th>Study</th><th>Site</th><th>Round</th><th>Reason</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<footer class="note">Updates every 2 s from the aggregator, over the coordinator's mutual-TLS
connection. Served on this machine only.</footer>
<script src="/ui.js"></script>
</body>
</html>
)PAGE";
}

std::string_view UiPageStyle() {
  return R"CSS(
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2329; background: #f6f7f9; }
header { display: flex; align-items: baseline; gap: 1em; padding: .6em 1.2em; background: #1f3b57;
         color: #fff; }
header h1 { font-size: 1.3em; margin: 0; }
header .note { color: #cfd8e3; }
main { padding: 0 1.2em 1em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
h3 { font-size: 1em; margin: 0; display: inline; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { border: 1px solid #d5dbe1; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
.note { color: #5b6670; font-size: .92em; }
footer { padding: .5em 1.2em 1.5em; }
.banner { background: #b3261e; color: #fff; padding: .6em 1.2em; font-weight: 600; }
.study { background: #fff; border: 1px solid #d5dbe1; border-radius: 4px; padding: .6em .8em;
         margin-bottom: .8em; }
.study .head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .6em; }
.study p { margin: .3em 0; }
.study table { margin-top: .4em; }
.badge { display: inline-block; border-radius: 3px; padding: 0 .45em; font-size: .9em;
         font-weight: 600; margin: 1px 2px; white-space: nowrap; }
.st-running { background: #d8e8fb; color: #0b4f9c; }
.st-done    { background: #d7f0dc; color: #13632b; }
.st-failed  { background: #fadbd8; color: #9c1c12; }
.st-waiting { background: #fff0c2; color: #7a5600; }
.st-unknown { background: #e6e8eb; color: #3c4650; }
.empty { color: #5b6670; font-style: italic; }
)CSS";
}

std::string_view UiPageScript() {
  return R"JS('use strict';
// Builds the page from /api/state with textContent and DOM nodes only: what the aggregator sends
// is never parsed as HTML.
(function () {
  const STATE_CLASS = {
    running: 'st-running', open: 'st-running', issued: 'st-running',
    done: 'st-done', closed: 'st-done', approved: 'st-done', online: 'st-done', enabled: 'st-done',
    failed: 'st-failed', expired: 'st-failed', denied: 'st-failed', disabled: 'st-failed',
    offline: 'st-failed',
    pending: 'st-waiting', 'no answer': 'st-waiting',
  };
  const MAX_ROUNDS = 6;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function badge(state, text) {
    const cls = Object.prototype.hasOwnProperty.call(STATE_CLASS, state) ? STATE_CLASS[state]
                                                                         : 'st-unknown';
    return el('span', text === undefined ? state : text, 'badge ' + cls);
  }
  function ago(unix, now) {
    if (!unix) return 'never';
    const d = Math.max(0, now - unix);
    if (d < 90) return d + ' s ago';
    if (d < 5400) return Math.round(d / 60) + ' min ago';
    return new Date(unix * 1000).toLocaleString();
  }
  function row(cells) {
    const tr = el('tr');
    for (const c of cells) {
      const td = el('td');
      if (c instanceof Node) td.appendChild(c); else if (c !== undefined && c !== null) td.textContent = String(c);
      tr.appendChild(td);
    }
    return tr;
  }
  function fill(tbody, rows, columns, emptyText) {
    if (rows.length === 0) {
      const td = el('td', emptyText, 'empty');
      td.colSpan = columns;
      const tr = el('tr');
      tr.appendChild(td);
      rows = [tr];
    }
    tbody.replaceChildren(...rows);
  }
  function group(nodes) {
    const span = el('span');
    for (const n of nodes) span.appendChild(n);
    return span;
  }
  function fmt(x) {
    return typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(3)) : String(x);
  }

  // Per site, the running studies whose approval is not given.
  function awaited(state) {
    const bySite = {};
    for (const s of state.studies || []) {
      if (s.state !== 'running') continue;
      for (const a of s.approvals || []) {
        if (a.state === 'approved') continue;
        (bySite[a.site] = bySite[a.site] || []).push(badge(a.state, s.id + ': ' + a.state));
      }
    }
    return bySite;
  }

  function renderSites(state) {
    const waits = awaited(state);
    const rows = (state.sites || []).map(s => row([
      el('strong', s.id), s.name,
      badge(s.enabled ? 'enabled' : 'disabled'),
      badge(s.online ? 'online' : 'offline'),
      ago(s.last_seen_unix, state.now_unix),
      s.activity || '',
      waits[s.id] ? group(waits[s.id]) : '',
      s.device, s.version]));
    fill(document.querySelector('#sites tbody'), rows, 9, 'No site is enrolled.');
  }

  function renderRounds(s) {
    const table = el('table');
    const head = el('tr');
    for (const h of ['Round', 'State', 'Submitted', 'Sites', 'Metrics']) head.appendChild(el('th', h));
    table.appendChild(el('thead')).appendChild(head);
    const body = el('tbody');
    const rounds = s.rounds.slice(-MAX_ROUNDS);
    for (const r of rounds) {
      const sites = r.sites.map(x => badge(x.state, x.site + ': ' + x.state +
                                         (x.num_samples ? ' (n=' + x.num_samples + ')' : '')));
      const metrics = Object.keys(r.metrics || {}).slice(0, 4)
          .map(k => k + '=' + fmt(r.metrics[k])).join('  ');
      body.appendChild(row(['round ' + r.round + (r.label ? ': ' + r.label : ''), badge(r.state),
                            r.submitted + ' of ' + r.tasks,
                            group(sites), metrics]));
    }
    table.appendChild(body);
    const wrap = el('div');
    if (s.rounds.length > rounds.length) {
      wrap.appendChild(el('p', (s.rounds.length - rounds.length) + ' earlier rounds in the report',
                          'note'));
    }
    wrap.appendChild(table);
    return wrap;
  }

  function renderStudy(s, now) {
    const card = el('div', null, 'study');
    card.dataset.study = s.id;
    const head = el('div', null, 'head');
    head.appendChild(el('h3', s.id));
    head.appendChild(badge(s.state));
    head.appendChild(el('span', s.kind, 'note'));
    head.appendChild(el('span', 'round ' + s.current_round +
                                (s.last_round ? ' of ' + s.last_round : '')));
    head.appendChild(el('span', 'created ' + ago(s.created_unix, now), 'note'));
    const link = el('a', 'report');
    link.href = '/studies/' + encodeURIComponent(s.id) + '/report';
    head.appendChild(link);
    card.appendChild(head);
    if (s.message) card.appendChild(el('p', s.message));
    if (s.error) card.appendChild(el('p', 'could not read its status: ' + s.error, 'badge st-failed'));
    // Once a study has ended, unanswered requests no longer matter; decisions still do.
    const approvals = (s.approvals || []).filter(a => s.state === 'running' || a.state !== 'no answer');
    if (approvals.length) {
      const p = el('p', 'Approvals: ');
      for (const a of approvals) {
        p.appendChild(badge(a.state, a.site + ': ' + a.state + (a.reason ? ' (' + a.reason + ')' : '')));
      }
      card.appendChild(p);
    }
    if (s.rounds.length) card.appendChild(renderRounds(s));
    else if (!s.detail) card.appendChild(el('p', 'rounds: see the report', 'note'));
    return card;
  }

  function renderFailures(state) {
    const rows = (state.failures || []).map(f => row([
      f.at_unix ? ago(f.at_unix, state.now_unix) : '', f.study, f.site,
      f.round === null || f.round === undefined ? '' : f.round, f.reason]));
    fill(document.querySelector('#failures tbody'), rows, 5, 'No failure.');
    const audit = state.audit || {};
    document.getElementById('audit-note').textContent = audit.available
        ? 'From the rounds, the studies and the aggregator\'s audit log.'
        : 'From the rounds and the studies; the audit log is not read: ' + (audit.error || '');
  }

  function banner(text) {
    const b = document.getElementById('banner');
    b.textContent = text || '';
    b.hidden = !text;
  }

  function render(state) {
    const agg = state.aggregator || {};
    banner(agg.ok ? '' : 'Aggregator unreachable' +
           (agg.stale_since_unix ? ' since ' + new Date(agg.stale_since_unix * 1000).toLocaleTimeString() : '') +
           ': ' + agg.error + '. Showing the last state read; retrying every 2 s.');
    renderSites(state);
    const studies = (state.studies || []).map(s => renderStudy(s, state.now_unix));
    const box = document.getElementById('studies');
    if (studies.length) box.replaceChildren(...studies);
    else box.replaceChildren(el('p', 'No study yet.', 'empty'));
    renderFailures(state);
    document.getElementById('updated').textContent =
        'updated ' + new Date().toLocaleTimeString();
  }

  async function poll() {
    try {
      const r = await fetch('/api/state', {cache: 'no-store', credentials: 'same-origin'});
      if (r.status === 403) {
        banner('Access refused (403): open the address scancov-coord ui printed, with its token.');
      } else if (!r.ok) {
        banner('scancov-coord ui answered HTTP ' + r.status + '; retrying every 2 s.');
      } else {
        render(await r.json());
      }
    } catch (e) {
      banner('Cannot reach scancov-coord ui (' + e.message + '): is it still running?');
    }
    setTimeout(poll, 2000);
  }
  poll();
})();
)JS";
}

}  // namespace scancov::aggregator

// The bosun dashboard: reads the root's /api/v1 with the token the person gave and shows
// it. Every value from the API is set as text, never as markup: hostnames, component names
// and messages come from nodes, and the page's Content-Security-Policy is no excuse to trust
// them.
'use strict';

(function () {
  const TOKEN_KEY = 'bosun.dashboard.token';
  const REFRESH_MS = 30000;
  // The overview lists the worst this many nodes; #/nodes pages by this many.
  const OVERVIEW_NODES = 10;
  const PAGE_NODES = 50;
  // The orders #/nodes offers: the API's sort= values.
  const NODE_SORTS = { 'compliance': 'lowest compliance first', '-score': 'worst score first', 'hostname': 'hostname' };

  // Rudder's order, best to worst, as the API names the states.
  const STATES = ['not-applicable', 'audit-not-applicable', 'compliant', 'success', 'applying',
    'reports-disabled', 'no-answer', 'missing', 'repaired', 'non-compliant', 'audit-error', 'error',
    'unexpected', 'bad-policy-mode'];
  const STATE_LABELS = {
    'not-applicable': 'not applicable', 'audit-not-applicable': 'audit n/a', 'compliant': 'compliant',
    'success': 'success', 'applying': 'applying', 'reports-disabled': 'reports disabled',
    'no-answer': 'no answer', 'missing': 'missing', 'repaired': 'repaired',
    'non-compliant': 'non-compliant', 'audit-error': 'audit error', 'error': 'error',
    'unexpected': 'unexpected', 'bad-policy-mode': 'bad policy mode',
  };

  const $ = (id) => document.getElementById(id);

  // h builds an element: attrs set attributes (class, href, data-*...), children are
  // nodes, strings (as text), arrays of them, or null/undefined/false (skipped).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      el.setAttribute(k, v === true ? '' : String(v));
    }
    const add = (c) => {
      if (c === null || c === undefined || c === false) return;
      if (Array.isArray(c)) { c.forEach(add); return; }
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    };
    children.forEach(add);
    return el;
  }

  // ---- the token and the API ----

  class Unauthorized extends Error {}

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  async function api(path) {
    const t = token();
    if (!t) throw new Unauthorized('no token given');
    const resp = await fetch('/api/v1' + path, {
      headers: { 'Authorization': 'Bearer ' + t, 'Accept': 'application/json' },
      cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    const message = body && body.error ? body.error.message : resp.statusText;
    if (resp.status === 401) throw new Unauthorized(message);
    if (!resp.ok) {
      const err = new Error('GET /api/v1' + path + ': ' + message + ' (HTTP ' + resp.status + ')');
      err.status = resp.status;
      throw err;
    }
    return body;
  }

  // optional answers null where the API says the object does not exist (a node without a
  // policy has no compliance, one that never sent an inventory has none).
  async function optional(path) {
    try { return await api(path); } catch (e) { if (e.status === 404) return null; throw e; }
  }

  const seg = (id) => id.split('/').map(encodeURIComponent).join('/');

  // route reads the hash: #/path?params. A token in it (#token=T, #/rules/x?token=T) is
  // taken into sessionStorage and removed from the address bar and the history, so it is
  // neither sent anywhere nor left on the screen.
  function route() {
    let hash = location.hash.replace(/^#/, '');
    let path = hash, query = '';
    const q = hash.indexOf('?');
    if (q >= 0) { path = hash.slice(0, q); query = hash.slice(q + 1); }
    if (path.startsWith('token=')) { query = path + (query ? '&' + query : ''); path = '/'; }
    const params = new URLSearchParams(query);
    const t = params.get('token');
    if (t) {
      sessionStorage.setItem(TOKEN_KEY, t.trim());
      params.delete('token');
      const rest = params.toString();
      history.replaceState(null, '', location.pathname + location.search + '#' + (path || '/') + (rest ? '?' + rest : ''));
    }
    return { parts: (path || '/').split('/').filter(Boolean).map(decodeURIComponent), params };
  }

  // ---- formatting ----

  function pct(p) {
    if (p === null || p === undefined) return '–';
    return (Math.round(p * 100) / 100) + ' %';
  }

  function bytes(n) {
    if (!n) return '0 B';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
  }

  function ago(t) {
    if (!t) return '–';
    const d = new Date(t);
    if (isNaN(d) || d.getFullYear() < 2000) return '–';
    let s = Math.round((Date.now() - d.getTime()) / 1000);
    const future = s < 0;
    s = Math.abs(s);
    let txt;
    if (s < 60) txt = s + ' s';
    else if (s < 3600) txt = Math.floor(s / 60) + ' min';
    else if (s < 86400) txt = Math.floor(s / 3600) + ' h';
    else txt = Math.floor(s / 86400) + ' d';
    return future ? 'in ' + txt : txt + ' ago';
  }

  // since says how long ago t was, without "ago": "up for 3 min".
  const since = (t) => ago(t).replace(/ ago$/, '');

  function when(t) {
    return h('span', { class: 'when', title: t ? new Date(t).toLocaleString() : '' }, ago(t));
  }

  const label = (s) => STATE_LABELS[s] || s || '–';
  const badge = (s) => s ? h('span', { class: 'badge st-' + s }, label(s)) : h('span', { class: 'muted' }, '–');

  function score(s) {
    // The API writes "-" for a node with nothing to grade yet.
    const g = s && /^[A-F]$/.test(s.score) ? s.score : '';
    const sub = s ? ['compliance ' + (s.compliance || '–'), 'updates ' + (s.updates || '–')]
      .concat(s.vulnerabilities ? ['vulnerabilities ' + s.vulnerabilities] : []).join(', ') : '';
    return h('span', { class: 'score score-' + (g || 'none'), title: sub }, g || '–');
  }

  // bar draws the shares of a ComplianceCounts, in the states' order.
  function bar(counts, big) {
    const el = h('div', { class: 'bar' + (big ? ' big' : ''), role: 'img' });
    const parts = [];
    for (const s of STATES) {
      const p = counts && counts.percent && counts.percent[s];
      if (!p) continue;
      const span = h('span', { class: 'st-' + s, title: label(s) + ' ' + pct(p) });
      span.style.width = p + '%';
      el.append(span);
      parts.push(label(s) + ' ' + pct(p));
    }
    el.setAttribute('aria-label', parts.join(', ') || 'nothing counted');
    return el;
  }

  function legend(counts) {
    const items = [];
    for (const s of STATES) {
      const n = counts && counts.counts && counts.counts[s];
      if (!n) continue;
      items.push(h('span', { 'data-state': s }, h('i', { class: 'st-' + s }), label(s) + ' ' + n + ' (' + pct(counts.percent[s]) + ')'));
    }
    return h('div', { class: 'legend' }, items.length ? items : h('span', { class: 'empty' }, 'no component counted yet'));
  }

  function table(head, rows, empty) {
    if (!rows.length) return h('p', { class: 'empty' }, empty);
    return h('table', {},
      h('thead', {}, h('tr', {}, head.map((c) => typeof c === 'string' ? h('th', {}, c) : h('th', { class: 'num' }, c.num)))),
      h('tbody', {}, rows));
  }

  const num = (v) => h('td', { class: 'num' }, v);
  const card = (title, attrs, ...body) => h('section', Object.assign({ class: 'card' }, attrs), h('h2', {}, title), body);
  const link = (href, text) => h('a', { href }, text);
  const nodeHref = (id) => '#/nodes/' + seg(id);
  const ruleHref = (id) => '#/rules/' + seg(id);

  // ---- views ----

  const FACT_COLUMNS = 'column=os,kernel,ip,packages,updates,security_updates';

  // inventoryFacts reads the inventory columns of the nodes listed, each named with node=, so that the
  // root reads those nodes' inventories and not the whole fleet's.
  function inventoryFacts(ids) {
    if (!ids.length) return Promise.resolve({ columns: [], nodes: [] });
    return api('/inventory/nodes?' + FACT_COLUMNS + ids.map((id) => '&node=' + encodeURIComponent(id)).join(''));
  }

  const named = (ids) => ids.map((id) => 'node=' + encodeURIComponent(id)).join('&');

  // nodesByID reads the registry's records of the nodes listed (a page), not the fleet's.
  async function nodesByID(ids) {
    if (!ids.length) return [];
    return (await api('/nodes?' + named(ids))).nodes;
  }

  // complianceByID reads the compliance of the nodes listed (a page), not the fleet's.
  async function complianceByID(ids) {
    if (!ids.length) return [];
    return (await api('/compliance/nodes?' + named(ids))).nodes;
  }

  // rowsOf joins, in the order of ids, each node's record, compliance and inventory facts.
  function rowsOf(ids, nodes, cnodes, facts) {
    const byNode = {}, comp = {};
    for (const n of nodes) byNode[n.id] = n;
    for (const c of cnodes) comp[c.nodeId] = c;
    const f = factsByNode(facts);
    return ids.map((id) => ({ id, n: byNode[id], c: comp[id], f: f[id] || {} }));
  }

  // loadFleet reads what the overview shows: counts, not lists, and the worst few nodes.
  async function loadFleet(driftLimit) {
    const [fleet, counts, worst, relays, drift] = await Promise.all([
      api('/compliance'), api('/nodes/counts'), api('/compliance/nodes?sort=compliance&limit=' + OVERVIEW_NODES), api('/relays'),
      api('/drift?limit=' + driftLimit),
    ]);
    const ids = worst.nodes.map((c) => c.nodeId);
    const [nodes, facts, hops] = await Promise.all([nodesByID(ids), inventoryFacts(ids),
      nodesNamed(relays.relays.flatMap((r) => r.node.path || []))]);
    return { fleet, counts, rows: rowsOf(ids, nodes, worst.nodes, facts), total: worst.total, relays: relays.relays, hops, drift };
  }

  function fleetCard(d) {
    const f = d.fleet;
    const byStatus = d.counts.byStatus || {};
    // "unknown" counts the nodes that do not gossip: the page shows only what gossip says.
    const byLive = Object.assign({}, d.counts.byLiveness || {});
    delete byLive.unknown;
    const chips = (m, attr) => h('div', { class: 'chips' }, Object.keys(m).sort().map((k) => h('span', { class: 'chip', [attr]: k }, k + ' ' + m[k])));
    return card('Fleet compliance', { id: 'fleet' },
      h('div', { class: 'figure', id: 'fleet-compliance' }, pct(f.compliance)),
      h('div', { class: 'figure-label' }, 'of ' + f.total + ' components'),
      bar(f, true), legend(f),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Nodes compliant'), h('dd', { id: 'fleet-nodes' }, f.nodesCompliant + ' of ' + f.nodes + ' with a policy'),
        h('dt', {}, 'Worst state'), h('dd', {}, h('div', { class: 'chips' }, STATES.filter((s) => f.nodesByWorst[s]).map((s) => h('span', { class: 'chip', 'data-worst': s }, h('span', { class: 'badge st-' + s }, label(s)), ' ' + f.nodesByWorst[s])))),
        h('dt', {}, 'Node status'), h('dd', {}, chips(byStatus, 'data-status')),
        Object.keys(byLive).length ? [h('dt', {}, 'Liveness'), h('dd', {}, chips(byLive, 'data-liveness'))] : null));
  }

  function rulesCard(rules, more) {
    const rows = rules.map((r) => h('tr', { 'data-rule': r.id },
      h('td', {}, link(ruleHref(r.id), r.name || r.id)),
      num(r.nodesCompliant + ' / ' + r.nodes),
      num(pct(r.nodeCompliance)),
      h('td', {}, bar(r)),
      num(pct(r.compliance))));
    return card(['Rules', more ? h('a', { class: 'more', href: '#/rules' }, 'all rules') : null], { id: 'rules' },
      table(['Rule', { num: 'Nodes compliant' }, { num: 'Node compliance' }, 'Components', { num: 'Component compliance' }], rows, 'No rule applies to any node yet.'));
  }

  function factsByNode(facts) {
    const out = {};
    for (const n of facts.nodes) {
      const v = {};
      facts.columns.forEach((c, i) => { v[c] = n.values[i]; });
      out[n.node.id] = v;
    }
    return out;
  }

  function flat(v) {
    if (v === null || v === undefined) return [];
    return Array.isArray(v) ? v.flatMap(flat) : [v];
  }

  const publicIPs = (v) => flat(v).filter((ip) => !/^127\./.test(ip));

  // nodesCard lists rows (rowsOf): on the overview the worst nodes, on #/nodes one page.
  function nodesCard(rows, title, empty, extra) {
    const trs = rows.map(({ id, n, c, f }) => {
      n = n || { id, hostname: c ? c.hostname : '' };
      const ips = publicIPs(f.ip);
      const upd = flat(f.updates)[0];
      const sec = flat(f.security_updates)[0];
      return h('tr', { 'data-node-id': id, 'data-hostname': n.hostname },
        h('td', { class: 'host' }, link(nodeHref(id), n.hostname || id)),
        h('td', {}, n.role || '–'),
        h('td', {}, n.status || '–'),
        h('td', {}, n.liveness || h('span', { class: 'muted' }, '–')),
        h('td', {}, c ? score(c.score) : h('span', { class: 'muted' }, '–')),
        num(c ? pct(c.compliance) : '–'),
        h('td', {}, c ? bar(c) : null),
        h('td', {}, c ? badge(c.worst) : null),
        h('td', {}, flat(f.os)[0] || n.os || '–'),
        h('td', {}, flat(f.kernel)[0] || '–'),
        h('td', { title: ips.join(', ') }, ips.slice(0, 2).join(', ') + (ips.length > 2 ? ' +' + (ips.length - 2) : '')),
        num(n.lastInventory ? flat(f.packages)[0] ?? '–' : '–'),
        num(!n.lastInventory || upd === undefined ? '–' : upd + (sec ? ' (' + sec + ' security)' : '')),
        h('td', {}, n.lastSeen ? when(n.lastSeen) : '–'));
    });
    return card(title, { id: 'nodes', class: 'card wide' }, extra || null,
      table(['Hostname', 'Role', 'Status', 'Liveness', 'Score', { num: 'Compliance' }, 'Components', 'Worst', 'OS', 'Kernel', 'IPs', { num: 'Packages' }, { num: 'Updates' }, 'Last seen'], trs, empty));
  }

  function driftCard(drift, more) {
    const rows = drift.events.map((e) => h('tr', { 'data-drift': e.kind, 'data-node-id': e.nodeId },
      h('td', {}, when(e.time)),
      h('td', { class: 'host' }, link(nodeHref(e.nodeId), e.hostname || e.nodeId)),
      h('td', {}, e.ruleId ? link(ruleHref(e.ruleId), e.ruleName || e.ruleId) : '–'),
      h('td', {}, e.directiveName || e.directiveId),
      h('td', {}, e.componentName || '#' + e.componentIndex),
      h('td', {}, badge(e.state)),
      h('td', { class: 'msg' }, e.message || '')));
    const title = more ? 'Recent drift' : ['Drift events', h('small', { class: 'muted' }, 'the latest ' + drift.events.length + ' of the drift log, newest first')];
    return card([title, more && drift.truncated ? h('a', { class: 'more', href: '#/drift' }, 'more') : null], { id: 'drift', class: 'card wide' },
      table(['When', 'Node', 'Rule', 'Directive', 'Component', 'State', 'Message'], rows, 'No drift: no repaired, non-compliant or error result so far.'));
  }

  function relaysCard(relays, nodes) {
    const names = {};
    for (const n of nodes) names[n.id] = n.hostname || n.id;
    const sorted = relays.slice().sort((a, b) => ((a.stats && a.stats.zone) || '').localeCompare((b.stats && b.stats.zone) || '') || (a.node.hostname || '').localeCompare(b.node.hostname || ''));
    const rows = sorted.map((r) => {
      const s = r.stats;
      const hops = (r.node.path || []).map((id) => names[id] || id);
      const link_ = !s ? h('span', { class: 'muted' }, 'not reported yet')
        : s.upstreamUp ? h('span', { class: 'up', 'data-link': 'up' }, 'up')
          : h('span', { class: 'down', 'data-link': 'down', title: s.upstreamError || '' }, 'down');
      return h('tr', { 'data-relay': r.node.id, 'data-hostname': r.node.hostname },
        h('td', {}, (s && s.zone) || h('span', { class: 'muted' }, '–')),
        h('td', { class: 'host' }, link(nodeHref(r.node.id), r.node.hostname || r.node.id)),
        h('td', {}, hops.length ? hops.join(' → ') + ' → root' : 'root'),
        num(r.nodes),
        h('td', { class: 'num', 'data-queue-depth': s ? s.queueDepth : '' }, s ? String(s.queueDepth) : '–'),
        num(s ? bytes(s.queueBytes) : '–'),
        h('td', {}, s && s.oldestQueued ? when(s.oldestQueued) : '–'),
        num(s ? s.forwarded : '–'),
        num(s ? bytes(s.bytesSent) + ' / ' + bytes(s.bytesReceived) : '–'),
        h('td', {}, link_, s && s.upstreamSince ? h('span', { class: 'muted', title: new Date(s.upstreamSince).toLocaleString() }, ' for ' + since(s.upstreamSince)) : null,
          s && !s.upstreamUp && s.upstreamError ? h('div', { class: 'msg' }, s.upstreamError) : null),
        h('td', {}, s ? when(s.reported) : '–'));
    });
    return card('Relay zones', { id: 'relays' },
      table(['Zone', 'Relay', 'Via', { num: 'Nodes' }, { num: 'Queued' }, { num: 'Queue size' }, 'Oldest', { num: 'Forwarded' }, { num: 'Sent / received' }, 'Uplink', 'Reported'], rows, 'No relay: every node talks to the root directly.'));
  }

  async function overview() {
    const d = await loadFleet(10);
    return h('div', { class: 'grid' },
      fleetCard(d),
      h('div', {}, rulesCard(d.fleet.rules, false), relaysCard(d.relays, d.hops)),
      nodesCard(d.rows, ['Least compliant nodes', h('a', { class: 'more', href: '#/nodes' }, 'all ' + (d.counts.total || 0) + ' nodes')],
        'No node has an applied policy yet.'),
      driftCard(d.drift, true));
  }

  async function rulesView() {
    const l = await api('/compliance/rules');
    return rulesCard(l.items, false);
  }

  // nodesHref is the address of a page of #/nodes.
  function nodesHref(sort, q, page) {
    const p = new URLSearchParams();
    if (sort !== 'compliance') p.set('sort', sort);
    if (q) p.set('q', q);
    if (page > 1) p.set('page', String(page));
    const s = p.toString();
    return '#/nodes' + (s ? '?' + s : '');
  }

  // nodesView shows one page of PAGE_NODES nodes: the root sorts, filters and pages, and the
  // page reads the records, compliance and inventory facts of the nodes it shows only. By
  // hostname it pages the registry (every node, with a policy or not); by compliance or score
  // it pages the compliance engine's nodes (those with an applied policy).
  async function nodesView(params) {
    const sort = NODE_SORTS[params.get('sort')] ? params.get('sort') : 'compliance';
    const q = (params.get('q') || '').trim();
    const page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
    const paging = 'limit=' + PAGE_NODES + '&offset=' + (page - 1) * PAGE_NODES + (q ? '&hostname=' + encodeURIComponent(q) : '');
    let ids, nodes, cnodes, total;
    if (sort === 'hostname') {
      const l = await api('/nodes?' + paging);
      ids = l.nodes.map((n) => n.id); nodes = l.nodes; total = l.total;
      cnodes = await complianceByID(ids);
    } else {
      const l = await api('/compliance/nodes?sort=' + encodeURIComponent(sort) + '&' + paging);
      ids = l.nodes.map((c) => c.nodeId); cnodes = l.nodes; total = l.total;
      nodes = await nodesByID(ids);
    }
    const facts = await inventoryFacts(ids);
    const pages = Math.max(1, Math.ceil(total / PAGE_NODES));
    const first = total ? (page - 1) * PAGE_NODES + 1 : 0;
    const last = Math.min(total, page * PAGE_NODES);
    const filter = h('form', { id: 'nodes-filter', class: 'filter' },
      h('label', {}, 'Sort ', h('select', { name: 'sort' }, Object.entries(NODE_SORTS).map(([k, v]) => h('option', { value: k, selected: k === sort }, v)))),
      ' ', h('label', {}, 'Hostname ', h('input', { name: 'q', type: 'search', value: q, placeholder: 'part of a hostname' })),
      ' ', h('button', { type: 'submit' }, 'Show'));
    filter.addEventListener('submit', (ev) => {
      ev.preventDefault();
      location.hash = nodesHref(filter.elements.sort.value, filter.elements.q.value.trim(), 1);
    });
    filter.elements.sort.addEventListener('change', () => filter.requestSubmit());
    const pager = h('div', { class: 'pager', id: 'nodes-pager', 'data-page': page, 'data-pages': pages, 'data-total': total },
      page > 1 ? h('a', { href: nodesHref(sort, q, page - 1), rel: 'prev' }, '← previous') : h('span', { class: 'muted' }, '← previous'),
      h('span', { class: 'muted' }, ' ' + (total ? first + '–' + last + ' of ' + total : 'none of 0') + ' · page ' + page + ' of ' + pages + ' '),
      page < pages ? h('a', { href: nodesHref(sort, q, page + 1), rel: 'next' }, 'next →') : h('span', { class: 'muted' }, 'next →'));
    const title = sort === 'hostname' ? 'Nodes' : ['Nodes', h('small', { class: 'muted' }, 'with an applied policy; sort by hostname for every node')];
    return nodesCard(rowsOf(ids, nodes, cnodes, facts), title, q ? 'No node matches “' + q + '”.' : 'No node here.', [filter, pager]);
  }

  async function driftView() {
    const drift = await api('/drift?limit=200');
    return driftCard(drift, false);
  }

  // nodesNamed reads the nodes of ids (policy servers, relay paths: a few), not the whole
  // fleet's list, for the names of links; an ID the root no longer knows is left out.
  async function nodesNamed(ids) {
    const uniq = [...new Set(ids.filter(Boolean))];
    const got = await Promise.all(uniq.map((id) => optional('/nodes/' + seg(id))));
    return got.filter(Boolean).map((x) => x.node);
  }

  async function relaysView() {
    const relays = (await api('/relays')).relays;
    const hops = await nodesNamed(relays.flatMap((r) => r.node.path || []));
    return relaysCard(relays, hops);
  }

  // componentRows lists components; withValue for a node's, whose reporting values the API
  // gives (a rule's drill-down has none).
  function componentRows(components, withValue) {
    return components.map((c) => h('tr', { class: 'sub', 'data-component': c.name, 'data-state': c.state },
      h('td', {}, c.directiveName || c.directiveId),
      h('td', {}, c.name),
      withValue ? h('td', {}, c.value || '') : null,
      h('td', {}, c.mode),
      h('td', {}, badge(c.state)),
      h('td', { class: 'msg' }, c.message || '')));
  }

  async function ruleView(id, params) {
    const all = params.has('all');
    const d = await api('/compliance/rules/' + seg(id) + (all ? '?components=all' : ''));
    const r = d.rule;
    const dirs = d.directives.map((x) => h('tr', { 'data-directive': x.id },
      h('td', {}, x.name || x.id), num(x.nodesCompliant + ' / ' + x.nodes), num(pct(x.nodeCompliance)), h('td', {}, bar(x)), num(pct(x.compliance))));
    const rows = [];
    const byHost = d.nodes.slice().sort((a, b) => (a.hostname || a.nodeId).localeCompare(b.hostname || b.nodeId));
    for (const n of byHost) {
      rows.push(h('tr', { class: 'group', 'data-node-id': n.nodeId, 'data-hostname': n.hostname },
        h('td', { colspan: 2 }, link(nodeHref(n.nodeId), n.hostname || n.nodeId), h('span', { class: 'muted' }, ' ' + pct(n.compliance) + ' of its components')),
        h('td', {}, bar(n)), h('td', {}, badge(n.worst)),
        h('td', { class: 'muted' }, (n.components || []).length ? '' : all ? 'no component' : 'every component compliant')));
      rows.push(...componentRows(n.components || [], false));
    }
    const toggle = all ? h('a', { class: 'more', href: ruleHref(id) }, 'only components that are not compliant')
      : h('a', { class: 'more', href: ruleHref(id) + '?all' }, 'every component');
    return h('div', { 'data-rule': r.id },
      h('h1', { class: 'title' }, 'Rule ', r.name || r.id, h('small', {}, r.id)),
      h('div', { class: 'grid' },
        card('Compliance', {},
          h('div', { class: 'figure', id: 'rule-compliance' }, pct(r.nodeCompliance)),
          h('div', { class: 'figure-label' }, r.nodesCompliant + ' of ' + r.nodes + ' nodes compliant'),
          bar(r, true), legend(r),
          h('p', { class: 'muted' }, 'Components: ' + pct(r.compliance) + ' of ' + r.total)),
        card('Directives', {}, table(['Directive', { num: 'Nodes compliant' }, { num: 'Node compliance' }, 'Components', { num: 'Component compliance' }], dirs, 'No directive.')),
        card(['Nodes', toggle], { class: 'card wide', id: 'rule-nodes' },
          table(['Directive', 'Component', 'Mode', 'State', 'Message'], rows, 'The rule applies to no node.'))));
  }

  function inventoryCard(inv) {
    if (!inv) return card('Inventory', { id: 'inventory' }, h('p', { class: 'empty' }, 'The node has sent no inventory yet.'));
    const i = inv.inventory;
    const os = i.os || {};
    const m = i.machine || {};
    const cpus = i.cpus || [];
    const ifaces = ((i.network || {}).interfaces || []).filter((x) => (x.ipv4 || []).length || (x.ipv6 || []).length);
    const updates = i.updates || [];
    const security = updates.filter((u) => u.security).length;
    const row = (k, v) => (v === undefined || v === null || v === '') ? null : [h('dt', {}, k), h('dd', { 'data-fact': k }, v)];
    const fs = (i.filesystems || []).map((f) => h('tr', {}, h('td', {}, f.mountpoint), h('td', {}, f.type || ''), num(bytes(f.total)), num(bytes(f.free))));
    return card(['Inventory', h('small', { class: 'more' }, 'collected ', when(i.collected_at))], { id: 'inventory', class: 'card wide' },
      h('div', { class: 'grid' },
        h('dl', { class: 'facts' },
          row('OS', os.full_name || [os.name, os.version].filter(Boolean).join(' ')),
          row('Kernel', [os.kernel, os.kernel_version].filter(Boolean).join(' ')),
          row('Architecture', os.arch),
          row('Machine', [m.manufacturer, m.model].filter(Boolean).join(' ') || undefined),
          row('Virtualization', [m.virtualization, m.container].filter(Boolean).join(', ') || undefined),
          row('CPUs', cpus.length ? cpus.length + ' × ' + (cpus[0].model || 'cpu') : undefined),
          row('Memory', i.memory && i.memory.total ? bytes(i.memory.total) + (i.memory.swap_total ? ' (swap ' + bytes(i.memory.swap_total) + ')' : '') : undefined),
          row('Software', (i.software || []).length + ' packages'),
          row('Updates', updates.length + ' available' + (security ? ', ' + security + ' security' : '')),
          row('Users', (i.users || []).length),
          row('Booted', i.boot_time ? when(i.boot_time) : undefined),
          row('Agent', (i.agent || {}).version)),
        h('div', {},
          table(['Interface', 'MAC', 'Addresses'], ifaces.map((x) => h('tr', {}, h('td', {}, x.name), h('td', {}, x.mac || ''), h('td', {}, (x.ipv4 || []).concat(x.ipv6 || []).join(', ')))), 'No address.'),
          fs.length ? h('div', {}, h('p', {}), table(['Filesystem', 'Type', { num: 'Size' }, { num: 'Free' }], fs, '')) : null)));
  }

  async function nodeView(id) {
    const [nd, comp, inv] = await Promise.all([api('/nodes/' + seg(id)), optional('/compliance/nodes/' + seg(id)),
      optional('/nodes/' + seg(id) + '/inventory')]);
    const n = nd.node;
    const names = {};
    for (const x of await nodesNamed([n.policyServer].concat(n.path || []))) names[x.id] = x.hostname || x.id;
    const server = (sid) => names[sid] ? link(nodeHref(sid), names[sid]) : sid;
    const c = comp && comp.node;
    const facts = (k, v) => (v === undefined || v === null || v === '') ? null : [h('dt', {}, k), h('dd', {}, v)];
    const ident = card('Node', { id: 'node' },
      h('dl', { class: 'facts' },
        facts('Id', h('code', {}, n.id)), facts('Role', n.role), facts('Status', n.status + (n.statusChangedBy ? ' (by ' + n.statusChangedBy + ')' : '')),
        facts('Liveness', n.liveness ? [n.liveness, ' ', h('span', { class: 'muted' }, 'since ', when(n.livenessSince))] : undefined),
        facts('Policy server', n.policyServer ? server(n.policyServer) : undefined),
        facts('Path', (n.path || []).length ? (n.path || []).map((p, i) => [i ? ' → ' : '', server(p)]) : undefined),
        facts('Key', h('code', {}, n.keyFingerprint)),
        facts('Agent version', n.softwareVersion), facts('First seen', when(n.firstSeen)), facts('Last seen', when(n.lastSeen)),
        facts('Last inventory', n.lastInventory ? when(n.lastInventory) : undefined)));
    let compCard;
    if (!c) {
      compCard = card('Compliance', { id: 'node-compliance' }, h('p', { class: 'empty' }, 'The node has no applied policy' + (n.status === 'accepted' ? ' yet.' : ': only accepted nodes get one.')));
    } else {
      compCard = card('Compliance', { id: 'node-compliance' },
        h('div', { class: 'figure' }, h('span', { id: 'node-score' }, score(c.score)), ' ', h('span', { id: 'node-compliance-figure' }, pct(c.compliance))),
        bar(c, true), legend(c),
        h('dl', { class: 'facts' },
          facts('Worst', badge(c.worst)), facts('Score', 'compliance ' + (c.score.compliance || '–') + ', updates ' + (c.score.updates || '–') + (c.score.vulnerabilities ? ', vulnerabilities ' + c.score.vulnerabilities + ' ' + (c.score.vulnerabilityIds || []).join(' ') : '')),
          facts('Last run', c.runId ? ['#' + c.runId + ' ended ', when(c.runEnd), c.forceAudit ? ' (forced to audit)' : ''] : 'none yet'),
          facts('Config', h('code', {}, c.configId + (c.runConfigId && c.runConfigId !== c.configId ? ' (last run on ' + c.runConfigId + ')' : ''))),
          facts('Reporting', c.reportingMode)));
    }
    const parts = [ident, compCard];
    if (comp) {
      parts.push(card('Directives', { class: 'card wide' }, table(['Directive', 'Rule', 'Worst', 'Components', { num: 'Compliance' }],
        comp.directives.map((x) => h('tr', { 'data-directive': x.id }, h('td', {}, x.name || x.id),
          h('td', {}, link(ruleHref(x.ruleId), x.ruleName || x.ruleId), (x.overriddenRules || []).length ? h('span', { class: 'muted' }, ' (also ' + x.overriddenRules.join(', ') + ')') : null),
          h('td', {}, badge(x.worst)), h('td', {}, bar(x)), num(pct(x.compliance)))), 'No directive.')));
      parts.push(card('Components', { class: 'card wide', id: 'components' }, table(['Directive', 'Component', 'Value', 'Mode', 'State', 'Message'], componentRows(comp.components, true), 'No component.')));
    }
    parts.push(inventoryCard(inv));
    return h('div', { 'data-node-id': n.id },
      h('h1', { class: 'title' }, n.hostname || n.id, h('small', {}, n.os || '')),
      h('div', { class: 'grid' }, parts));
  }

  // ---- the page ----

  let generation = 0;

  function showLogin(message) {
    $('app').replaceChildren();
    $('login').hidden = false;
    $('signout').hidden = true;
    banner(message);
    document.body.dataset.state = 'login';
    $('token').focus();
  }

  function banner(message) {
    $('banner').hidden = !message;
    $('banner').textContent = message || '';
  }

  async function whoami() {
    try {
      const s = await api('/status');
      $('whoami').textContent = 'root ' + s.nodeId.slice(0, 8) + ' · bosun ' + (s.softwareVersion || '?') + ' · ' + new Date().toLocaleTimeString();
    } catch (e) { $('whoami').textContent = ''; }
  }

  async function render() {
    const gen = ++generation;
    const { parts, params } = route();
    const view = parts[0] || 'overview';
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.dataset.view === view);
    if (!token()) { showLogin(); return; }
    $('login').hidden = true;
    $('signout').hidden = false;
    document.body.dataset.state = 'loading';
    document.body.dataset.view = view;
    try {
      let el;
      const id = parts.slice(1).join('/');
      if (view === 'overview') el = await overview();
      else if (view === 'rules' && !id) el = await rulesView();
      else if (view === 'rules') el = await ruleView(id, params);
      else if (view === 'nodes' && !id) el = await nodesView(params);
      else if (view === 'nodes') el = await nodeView(id);
      else if (view === 'drift') el = await driftView();
      else if (view === 'relays') el = await relaysView();
      else el = h('p', { class: 'empty' }, 'No such view: ' + location.hash);
      if (gen !== generation) return;
      banner('');
      $('app').replaceChildren(el);
      whoami();
      document.body.dataset.state = 'ready';
    } catch (e) {
      if (gen !== generation) return;
      if (e instanceof Unauthorized) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin('The root refused the token: ' + e.message);
        return;
      }
      banner(e.status === 404 ? 'Not found: ' + e.message : 'Could not load this view: ' + e.message);
      $('app').replaceChildren();
      document.body.dataset.state = 'error';
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('token').value.trim();
      $('token').value = '';
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      render();
    });
    $('signout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin('Token forgotten.');
    });
    window.addEventListener('hashchange', render);
    setInterval(() => {
      if (document.visibilityState === 'visible' && document.body.dataset.state === 'ready') render();
    }, REFRESH_MS);
    render();
  });
})();

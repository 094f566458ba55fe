// Pipelines dashboard: plain JavaScript, no build step, no libraries. Hash routes:
//   #/runs[?pipeline=&state=&page=]   #/runs/{id}[?node=]   #/artifacts/{id}   #/models   #/start[?pipeline=]
// Data: the pipeline API (runs, start, cancel, approve, reject, pipelines), Durable Functions' management API (the run's
// pipeline definition and history: upstreams, retries, stacks) and the dashboard's own routes (executions, artifacts,
// lineage, report files, models). Every call sends the access key in x-functions-key.
'use strict';
(() => {
  const config = JSON.parse(document.getElementById('dashboard-config').textContent);
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const forget = document.getElementById('forget-key');
  const KEY = 'pipelines-dashboard-key';
  const ACTIVE = new Set(['Running', 'Pending', 'ContinuedAsNew', 'Suspended']);
  const NODE_STATES = ['Pending', 'WaitingForGpuWorker', 'WaitingForApproval', 'Running', 'Cached', 'Complete', 'Failed', 'Skipped', 'Rejected', 'TimedOut'];
  const RUN_STATES = ['Running', 'Succeeded', 'Failed', 'Rejected', 'ApprovalTimedOut', 'Canceled', 'Pending'];
  const PAGE_SIZE = 20;
  let key = sessionStorage.getItem(KEY);
  let timer = null;
  let view = 0; // bumps on every navigation: a late answer for an old view is dropped

  // A key given once as ?code= (the API's convention) moves to session storage and out of the address bar.
  const query = new URLSearchParams(location.search);
  if (query.get('code')) {
    key = query.get('code');
    sessionStorage.setItem(KEY, key);
    query.delete('code');
    history.replaceState(null, '', location.pathname + (query.toString() ? '?' + query : '') + location.hash);
  }

  // ---------- small helpers ----------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function s(tag, attrs, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }
  function fill(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
  }
  function setAttrs(el, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else if (name === 'text') el.textContent = value;
      else el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  // Field access that accepts camelCase and PascalCase: the run status is written by .NET with either policy.
  function g(o, name) {
    if (o === null || o === undefined) return undefined;
    if (name in o) return o[name];
    const pascal = name[0].toUpperCase() + name.slice(1);
    if (pascal in o) return o[pascal];
    const camel = name[0].toLowerCase() + name.slice(1);
    return o[camel];
  }
  const enc = encodeURIComponent;
  function fmtTime(t) {
    if (!t) return '';
    const d = new Date(t);
    if (isNaN(d)) return String(t);
    const p = n => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return '';
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const m = Math.floor(seconds / 60);
    if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }
  function fmtBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1048576).toFixed(1)} MiB`;
  }
  function badge(state, label) {
    return h('span', { class: `badge s-${state}`, 'data-state': state }, label || words(state));
  }
  function words(state) { return String(state || '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase().replace(/\bgpu\b/g, 'GPU').replace(/^./, c => c.toUpperCase()); }
  function table(headers, rows, cls) {
    return h('div', { class: 'table-wrap' }, h('table', { class: cls || 'stack' },
      h('thead', {}, h('tr', {}, headers.map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map(r => h('tr', {}, r.map((cell, i) => {
        const td = h('td', { 'data-label': headers[i] });
        if (cell && cell.num) { td.className = 'num'; append(td, [cell.value]); } else append(td, [cell]);
        return td;
      }))))));
  }
  function artifactLink(a) {
    return h('a', { href: `#/artifacts/${g(a, 'id')}`, 'data-artifact': g(a, 'id') }, `${g(a, 'label')} (${g(a, 'type')} #${g(a, 'id')})`);
  }
  function fileUrl(id, path) {
    return `${config.dashboard}/artifacts/${id}/files/${path.split('/').map(enc).join('/')}?code=${enc(key)}`;
  }

  class HttpError extends Error {
    constructor(status, message, body) { super(message); this.status = status; this.body = body; }
  }
  async function api(path, options) {
    const o = options || {};
    const headers = { 'x-functions-key': key || '', Accept: 'application/json' };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, { method: o.method || 'GET', headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), cache: 'no-store' });
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = text; }
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      key = null;
      showKeyForm('The access key was not accepted. Enter the key again.');
      throw new HttpError(401, 'wrong access key', body);
    }
    if (!response.ok) throw new HttpError(response.status, (body && body.error) || `${response.status} ${response.statusText}`, body);
    return body;
  }

  // ---------- live refresh ----------
  function schedule(fn, ms) {
    clearTimeout(timer);
    const mine = view;
    timer = setTimeout(async () => { if (mine === view) await fn(); }, ms);
  }
  function say(text) { live.textContent = text; }
  // Refreshing replaces elements: keep keyboard focus on the element with the same data-focus key.
  function keepFocus(update) {
    const active = document.activeElement;
    const focusKey = active && active.getAttribute && active.getAttribute('data-focus');
    update();
    if (focusKey) {
      const again = main.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  // ---------- routing ----------
  function route() {
    view++;
    clearTimeout(timer);
    say('');
    const hash = location.hash.replace(/^#/, '') || '/runs';
    const [path, search] = hash.split('?');
    const params = new URLSearchParams(search || '');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.getAttribute('data-nav') === (parts[0] === 'artifacts' ? 'runs' : parts[0])) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    forget.hidden = !key;
    if (!key) return showKeyForm();
    if (parts[0] === 'runs' && parts[1]) return runView(parts[1], params);
    if (parts[0] === 'artifacts' && parts[1]) return artifactView(parts[1]);
    if (parts[0] === 'models') return modelsView();
    if (parts[0] === 'start') return startView(params);
    return runsView(params);
  }
  function page(title, ...content) {
    document.title = `${title} · Pipelines`;
    const heading = h('h2', { tabindex: '-1' }, title);
    main.replaceChildren(heading, ...content.flat(Infinity).filter(c => c !== null && c !== undefined && c !== false));
    return heading;
  }
  // After a navigation (not the first load), focus moves to the new page's heading so keyboard and screen-reader users
  // start there instead of on the link they left.
  let navigated = false;
  function focusHeading() {
    const heading = main.querySelector('h2');
    if (heading && navigated) heading.focus();
  }
  function failed(e) {
    if (e instanceof HttpError && e.status === 401) return;
    main.replaceChildren(h('h2', { tabindex: '-1' }, 'Something went wrong'), h('p', { class: 'alert', role: 'alert' }, e.message || String(e)));
  }

  function showKeyForm(problem) {
    clearTimeout(timer);
    forget.hidden = true;
    const input = h('input', { id: 'key', type: 'password', autocomplete: 'current-password', required: true, size: 40 });
    page('Access key',
      problem ? h('p', { class: 'alert', role: 'alert' }, problem) : null,
      h('p', {}, 'The dashboard calls the same API as the CLI and needs its access key. The host prints where the key is stored (by default ',
        h('code', {}, '~/.serverless-ml/access-key'), '); you can also open the page as ', h('code', {}, '/?code=KEY'), '.'),
      h('form', {
        onsubmit: ev => {
          ev.preventDefault();
          key = input.value.trim();
          if (!key) return;
          sessionStorage.setItem(KEY, key);
          forget.hidden = false;
          if (!location.hash || location.hash === '#/' ) location.hash = '#/runs'; else route();
        },
      }, h('div', { class: 'field' }, h('label', { for: 'key' }, 'Access key'), input), h('button', { type: 'submit', class: 'primary' }, 'Open dashboard')));
    input.focus();
  }
  forget.addEventListener('click', () => { sessionStorage.removeItem(KEY); key = null; route(); });

  // ---------- runs ----------
  function runState(r) {
    const rs = g(r, 'runtimeStatus');
    if (rs === 'Terminated') return 'Canceled';
    if (rs === 'Failed' && g(r, 'state') !== 'Failed') return 'Failed';
    if (rs === 'Pending') return 'Pending';
    return g(r, 'state') || rs;
  }
  function runDuration(r) {
    const start = Date.parse(g(r, 'createdAt'));
    const end = ACTIVE.has(g(r, 'runtimeStatus')) ? Date.now() : Date.parse(g(r, 'lastUpdatedAt'));
    return isNaN(start) || isNaN(end) ? null : Math.max(0, (end - start) / 1000);
  }

  async function runsView(params) {
    const mine = view;
    const heading = page('Runs', h('p', { class: 'muted' }, 'Loading runs…'));
    focusHeading();
    const body = h('div');
    let first = true;
    async function load() {
      let runs;
      try { runs = await api(`${config.api}/runs`); } catch (e) { if (mine === view) failed(e); return; }
      if (mine !== view) return;
      const pipelines = [...new Set(runs.map(r => g(r, 'pipeline')))].sort();
      const pipeline = params.get('pipeline') || '';
      const state = params.get('state') || '';
      const shown = runs.filter(r => (!pipeline || g(r, 'pipeline') === pipeline) && (!state || runState(r) === state));
      const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
      const pageNo = Math.min(pages, Math.max(1, parseInt(params.get('page') || '1', 10) || 1));
      const slice = shown.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
      const go = changes => {
        const next = new URLSearchParams(params);
        for (const [k, v] of Object.entries(changes)) { if (v) next.set(k, v); else next.delete(k); }
        location.hash = '#/runs' + (next.toString() ? '?' + next : '');
      };
      const active = runs.filter(r => ACTIVE.has(g(r, 'runtimeStatus'))).length;
      keepFocus(() => {
        fill(body,
          h('form', { class: 'filters', 'aria-label': 'Filter runs', onsubmit: ev => ev.preventDefault() },
            h('div', {}, h('label', { for: 'f-pipeline' }, 'Pipeline'),
              h('select', { id: 'f-pipeline', 'data-focus': 'f-pipeline', onchange: ev => go({ pipeline: ev.target.value, page: '' }) },
                h('option', { value: '' }, 'All pipelines'), pipelines.map(p => h('option', { value: p, selected: p === pipeline }, p)))),
            h('div', {}, h('label', { for: 'f-state' }, 'State'),
              h('select', { id: 'f-state', 'data-focus': 'f-state', onchange: ev => go({ state: ev.target.value, page: '' }) },
                h('option', { value: '' }, 'All states'), RUN_STATES.map(x => h('option', { value: x, selected: x === state }, words(x))))),
            h('div', {}, h('a', { class: 'button', href: '#/start' + (pipeline ? `?pipeline=${enc(pipeline)}` : ''), 'data-focus': 'start' }, 'Start a run'))),
          shown.length === 0
            ? h('p', { class: 'muted' }, runs.length === 0 ? 'No runs yet. Start one from “Start a run”, the CLI or a trigger.' : 'No run matches the filters.')
            : table(['Run', 'Pipeline', 'Trigger', 'State', 'Started', 'Duration'], slice.map(r => [
              h('a', { href: `#/runs/${enc(g(r, 'id'))}`, 'data-run': g(r, 'id'), 'data-focus': 'run:' + g(r, 'id') }, g(r, 'id')),
              g(r, 'pipeline'),
              h('span', { class: 'mono' }, String(g(r, 'trigger') || '').split('@')[0]),
              badge(runState(r)),
              fmtTime(g(r, 'createdAt')),
              { num: true, value: fmtDuration(runDuration(r)) },
            ]), 'stack runs'),
          pages > 1 ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
            h('button', { type: 'button', disabled: pageNo <= 1, 'data-focus': 'prev', onclick: () => go({ page: String(pageNo - 1) }) }, 'Previous'),
            h('span', {}, `Page ${pageNo} of ${pages} (${shown.length} runs)`),
            h('button', { type: 'button', disabled: pageNo >= pages, 'data-focus': 'next', onclick: () => go({ page: String(pageNo + 1) }) }, 'Next')) : null);
        if (first) { heading.after(body); heading.nextElementSibling.nextElementSibling?.remove(); first = false; }
      });
      say(active > 0 ? `${active} active run${active > 1 ? 's' : ''}; refreshing every 2 s` : `Updated ${fmtTime(new Date())}`);
      schedule(load, active > 0 ? 2000 : 15000);
    }
    await load();
  }

  // ---------- run detail ----------
  // A GPU job that no trainer app has leased yet is WaitingForGpuWorker (its detail gives the attempt and the queue length).
  function nodeDisplayState(n) { return g(n, 'state'); }
  // Failed attempts per node, from the orchestration history (the engine retries the node activity by policy).
  function failuresByNode(history) {
    const map = new Map();
    for (const e of history || []) {
      // Node activities are named after their component type (or RunPipelineNode): the message names the node.
      if (g(e, 'eventType') !== 'TaskFailed') continue;
      const details = g(e, 'failureDetails') || {};
      const message = g(details, 'errorMessage') || g(e, 'reason') || '';
      const m = /^Node '(.+?)' execution/.exec(message);
      if (!m) continue;
      const entry = map.get(m[1]) || { count: 0, last: null };
      entry.count++;
      entry.last = details;
      map.set(m[1], entry);
    }
    return map;
  }

  async function runView(id, params) {
    const mine = view;
    const heading = page(`Run ${id}`, h('p', { class: 'muted' }, 'Loading the run…'));
    focusHeading();
    const body = h('div');
    let first = true;
    let selected = params.get('node');
    let notice = null;
    let definition = null;

    async function load() {
      let run, instance, nodes;
      try {
        [run, instance, nodes] = await Promise.all([
          api(`${config.api}/runs/${enc(id)}`),
          api(`${config.durable}/instances/${enc(id)}?showInput=true&showHistory=true&showHistoryOutput=false`).catch(() => null),
          api(`${config.dashboard}/runs/${enc(id)}/nodes`).catch(() => []),
        ]);
      } catch (e) { if (mine === view) failed(e); return; }
      if (mine !== view) return;
      definition = g(g(instance, 'input'), 'pipeline') || definition;
      const status = g(run, 'run') || {};
      const states = g(status, 'nodes') || [];
      const defNodes = g(definition, 'nodes') || [];
      const failures = failuresByNode(g(instance, 'historyEvents'));
      const executions = new Map((nodes || []).map(x => [g(g(x, 'execution'), 'node'), x]));
      // Graph nodes: the definition's (with upstreams) in status order; a status without a definition still draws its nodes.
      const order = states.length ? states.map(n => g(n, 'node')) : defNodes.map(n => g(n, 'id'));
      const byId = new Map(states.map(n => [g(n, 'node'), n]));
      const defById = new Map(defNodes.map(n => [g(n, 'id'), n]));
      const graphNodes = order.map(nodeId => {
        const st = byId.get(nodeId) || { State: 'Pending' };
        const def = defById.get(nodeId);
        return {
          key: nodeId,
          label: nodeId,
          sub: `${g(st, 'component') || g(def, 'component') || ''} · ${words(nodeDisplayState(st))}`,
          state: nodeDisplayState(st),
          title: `${nodeId}: ${words(nodeDisplayState(st))}`,
        };
      });
      const edges = [];
      for (const def of defNodes) {
        const inputs = g(def, 'inputs') || {};
        for (const ref of Object.values(inputs)) {
          const from = g(ref, 'node');
          if (from && byIdOrDef(from)) edges.push({ from, to: g(def, 'id') });
        }
      }
      // Without the definition (a host whose management API does not show inputs), the recorded inputs still give the
      // edges of every node that ran: an artifact's URI is {pipeline}/{node}/{output}/{execution}.
      if (defNodes.length === 0) {
        for (const x of nodes || []) {
          for (const c of g(x, 'inputs') || []) {
            const from = String(g(g(c, 'artifact'), 'uri') || '').split('/').slice(-3)[0];
            const to = g(g(x, 'execution'), 'node');
            if (from && to && from !== to && byId.has(from)) edges.push({ from, to });
          }
        }
      }
      function byIdOrDef(x) { return byId.has(x) || defById.has(x); }
      const uniqueEdges = [...new Map(edges.map(e => [e.from + '>' + e.to, e])).values()];
      const waiting = states.filter(n => g(n, 'state') === 'WaitingForApproval');
      const runtimeStatus = g(run, 'runtimeStatus');
      const activeRun = ACTIVE.has(runtimeStatus);
      const display = runState({ runtimeStatus, state: g(run, 'state') });
      if (selected && !byId.has(selected) && !defById.has(selected)) selected = null;

      function select(nodeId) {
        selected = nodeId;
        const next = new URLSearchParams(); next.set('node', nodeId);
        history.replaceState(null, '', `#/runs/${enc(id)}?${next}`);
        render();
        const detail = main.querySelector('#node-detail h3');
        if (detail) detail.focus();
      }

      function render() {
        keepFocus(() => {
          const graph = drawGraph(graphNodes, uniqueEdges, {
            label: `Pipeline graph of run ${id}`,
            selected,
            onActivate: select,
            nodeAttrs: n => ({ 'data-node': n.key, 'data-state': n.state }),
          });
          const start = g(run, 'createdAt');
          fill(body,
            h('dl', { class: 'summary' },
              h('dt', {}, 'Pipeline'), h('dd', {}, g(status, 'pipeline') || g(definition, 'name') || ''),
              h('dt', {}, 'State'), h('dd', {}, badge(display), ' ', h('span', { class: 'muted' }, `(${runtimeStatus})`)),
              h('dt', {}, 'Trigger'), h('dd', { class: 'mono' }, g(status, 'trigger') || g(g(instance, 'input'), 'trigger') || ''),
              h('dt', {}, 'Started'), h('dd', {}, fmtTime(start)),
              h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(runDuration({ runtimeStatus, createdAt: start, lastUpdatedAt: g(run, 'lastUpdatedAt') }))),
              g(run, 'message') ? [h('dt', {}, 'Message'), h('dd', {}, g(run, 'message'))] : null),
            notice,
            waiting.length > 0 ? approvalBox(id, waiting, async (msg, ok) => { notice = h('p', { class: ok ? 'ok' : 'alert', role: ok ? 'status' : 'alert' }, msg); await load(); }) : null,
            activeRun ? h('div', { class: 'actions plain' }, h('button', {
              type: 'button', class: 'danger', 'data-focus': 'cancel',
              onclick: async ev => {
                ev.target.disabled = true;
                try { await api(`${config.api}/runs/${enc(id)}/cancel`, { method: 'POST' }); notice = h('p', { class: 'ok', role: 'status' }, 'Cancel requested.'); }
                catch (e) { notice = h('p', { class: 'alert', role: 'alert' }, `Cancel failed: ${e.message}`); }
                await load();
              },
            }, 'Cancel run')) : null,
            h('div', { class: 'run-layout' },
              h('section', { 'aria-labelledby': 'graph-title' },
                h('h3', { id: 'graph-title' }, 'Graph'),
                h('p', { class: 'hint' }, 'Select a node (Tab to it, then Enter) for its duration, retries, errors and artifacts.'),
                graph,
                legend(),
                h('h3', {}, 'Nodes'),
                table(['Node', 'Component', 'State', 'Started', 'Duration', 'Retries'], states.map(n => {
                  const f = failures.get(g(n, 'node'));
                  return [
                    h('a', { href: `#/runs/${enc(id)}?node=${enc(g(n, 'node'))}`, 'data-focus': 'row:' + g(n, 'node'), onclick: ev => { ev.preventDefault(); select(g(n, 'node')); } }, g(n, 'node')),
                    g(n, 'component'), badge(nodeDisplayState(n)), fmtTime(g(n, 'startedAt')),
                    { num: true, value: fmtDuration(g(n, 'durationSeconds')) },
                    { num: true, value: retries(n, f) },
                  ];
                }), 'stack nodes')),
              nodePanel(selected ? byId.get(selected) : null, selected, defById.get(selected), executions.get(selected), failures.get(selected))));
          if (first) { heading.after(body); heading.nextElementSibling.nextElementSibling?.remove(); first = false; }
        });
      }
      render();
      say(activeRun ? 'Run active; refreshing every 2 s' : `Run ${words(display).toLowerCase()}; updated ${fmtTime(new Date())}`);
      if (activeRun) schedule(load, 2000);
    }
    await load();
  }

  function retries(n, f) {
    if (!f) return '0';
    // Failed attempts: all of them were retried unless the node finally failed (its last failure ended it).
    return String(g(n, 'state') === 'Failed' ? Math.max(0, f.count - 1) : f.count);
  }

  function approvalBox(id, waiting, done) {
    const comment = h('input', { id: 'approval-comment', type: 'text', size: 30, 'data-focus': 'approval-comment', placeholder: 'who and why (optional)' });
    const decide = approve => async ev => {
      ev.target.disabled = true;
      try {
        await api(`${config.api}/runs/${enc(id)}/${approve ? 'approve' : 'reject'}`, { method: 'POST', body: { comment: comment.value || null } });
        await done(approve ? 'Approved: the gated node runs now.' : 'Rejected: the gated node and its downstream will not run.', true);
      } catch (e) {
        await done(`${approve ? 'Approve' : 'Reject'} failed: ${e.message}`, false);
      }
    };
    return h('section', { class: 'actions', 'aria-labelledby': 'approval-title' },
      h('h3', { id: 'approval-title', style: null }, `Waiting for approval: ${waiting.map(n => g(n, 'node')).join(', ')}`),
      h('div', { class: 'field' }, h('label', { for: 'approval-comment' }, 'Comment'), comment),
      h('button', { type: 'button', class: 'primary', 'data-focus': 'approve', onclick: decide(true) }, 'Approve'),
      h('button', { type: 'button', 'data-focus': 'reject', onclick: decide(false) }, 'Reject'));
  }

  function legend() {
    return h('ul', { class: 'legend', 'aria-label': 'Node states' }, NODE_STATES.map(x => h('li', {}, badge(x))));
  }

  function nodePanel(st, nodeId, def, execution, failure) {
    const panel = h('aside', { id: 'node-detail', class: 'panel', 'aria-labelledby': 'node-detail-title' });
    if (!nodeId) {
      append(panel, [h('h3', { id: 'node-detail-title', tabindex: '-1' }, 'Node'), h('p', { class: 'muted' }, 'Select a node in the graph or the table.')]);
      return panel;
    }
    const ex = g(execution, 'execution');
    const inputs = g(execution, 'inputs') || [];
    const outputs = g(execution, 'outputs') || [];
    const outputIds = g(st, 'artifactIds') || {};
    const state = st ? nodeDisplayState(st) : 'Pending';
    const approval = g(def, 'approval');
    append(panel, [
      h('h3', { id: 'node-detail-title', tabindex: '-1' }, `Node ${nodeId}`),
      h('dl', { class: 'summary' },
        h('dt', {}, 'State'), h('dd', { 'data-node-state': state }, badge(state)),
        h('dt', {}, 'Component'), h('dd', {}, g(st, 'component') || g(def, 'component') || ''),
        h('dt', {}, 'Started'), h('dd', {}, fmtTime(g(st, 'startedAt')) || '—'),
        h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(g(st, 'durationSeconds')) || '—'),
        h('dt', {}, 'Retries'), h('dd', { 'data-retries': '' }, retries(st || {}, failure)),
        g(def, 'pool') && g(def, 'pool') !== 'default' ? [h('dt', {}, 'Pool'), h('dd', {}, g(def, 'pool'))] : null,
        approval ? [h('dt', {}, 'Approval'), h('dd', {}, `event `, h('code', {}, g(approval, 'eventName')), `, timeout ${g(approval, 'timeout')}`)] : null,
        ex ? [h('dt', {}, 'Execution'), h('dd', { class: 'mono' }, `#${g(ex, 'id')} ${words(g(ex, 'state'))}`)] : null,
        ex && g(ex, 'cachedFrom') ? [h('dt', {}, 'Cached from'), h('dd', { class: 'mono' }, `execution #${g(ex, 'cachedFrom')}`)] : null),
      g(st, 'detail') ? [h('h4', {}, state === 'WaitingForGpuWorker' ? 'Waiting' : 'GPU job'), h('p', { 'data-node-detail': '' }, g(st, 'detail'))] : null,
      g(st, 'error') ? [h('h4', {}, 'Error'), h('p', { class: 'alert' }, g(st, 'error'))] : null,
      failure && g(failure.last, 'stackTrace') ? h('details', {}, h('summary', {}, 'Stack trace of the last failed attempt'), h('pre', {}, g(failure.last, 'stackTrace'))) : null,
      h('h4', {}, 'Inputs'),
      inputs.length ? h('ul', {}, inputs.map(c => h('li', {}, h('span', { class: 'mono' }, g(c, 'channel')), ': ', artifactLink(g(c, 'artifact'))))) : h('p', { class: 'muted' }, 'none recorded'),
      h('h4', {}, 'Outputs'),
      outputs.length
        ? h('ul', {}, outputs.map(c => h('li', {}, h('span', { class: 'mono' }, g(c, 'channel')), ': ', artifactLink(g(c, 'artifact')))))
        : Object.keys(outputIds).length
          ? h('ul', {}, Object.entries(outputIds).map(([ch, aid]) => h('li', {}, h('span', { class: 'mono' }, ch), ': ', h('a', { href: `#/artifacts/${aid}`, 'data-artifact': aid }, `artifact #${aid}`))))
          : h('p', { class: 'muted' }, 'none yet'),
    ]);
    return panel;
  }

  // ---------- graph drawing (layered, left to right; top to bottom when the window is narrow) ----------
  function layout(nodes, edges) {
    const keys = nodes.map(n => n.key);
    const index = new Map(keys.map((k, i) => [k, i]));
    const preds = new Map(keys.map(k => [k, []]));
    const succs = new Map(keys.map(k => [k, []]));
    for (const e of edges) {
      if (!index.has(e.from) || !index.has(e.to)) continue;
      preds.get(e.to).push(e.from);
      succs.get(e.from).push(e.to);
    }
    // Longest path from the sources (Kahn's order; a cycle, which a valid pipeline cannot have, stays at level 0).
    const level = new Map(keys.map(k => [k, 0]));
    const indeg = new Map(keys.map(k => [k, preds.get(k).length]));
    const queue = keys.filter(k => indeg.get(k) === 0);
    while (queue.length) {
      const k = queue.shift();
      for (const t of succs.get(k)) {
        level.set(t, Math.max(level.get(t), level.get(k) + 1));
        indeg.set(t, indeg.get(t) - 1);
        if (indeg.get(t) === 0) queue.push(t);
      }
    }
    const levels = [];
    for (const k of keys) (levels[level.get(k)] ||= []).push(k);
    // One barycentre pass orders each level by its predecessors' positions: fewer crossings, stable for ties.
    const pos = new Map();
    levels.forEach((ks, l) => {
      if (l > 0) {
        const bary = k => { const p = preds.get(k).filter(x => pos.has(x)); return p.length ? p.reduce((a, x) => a + pos.get(x), 0) / p.length : index.get(k); };
        ks.sort((a, b) => bary(a) - bary(b) || index.get(a) - index.get(b));
      }
      ks.forEach((k, i) => pos.set(k, i));
    });
    return { levels, pos, level };
  }

  function drawGraph(nodes, edges, options) {
    const container = h('div', { class: 'graph' });
    const { levels } = layout(nodes, edges);
    const byKey = new Map(nodes.map(n => [n.key, n]));
    const widest = Math.max(1, ...levels.map(l => l.length));
    const W = 178, H = 52, GX = 56, GY = 22, PAD = 16;
    const available = Math.max(320, Math.min(window.innerWidth, document.documentElement.clientWidth || window.innerWidth) - 40);
    // Top to bottom when left to right does not fit the window and top to bottom is narrower (long chains, small screens).
    const across = PAD * 2 + levels.length * (W + GX), down = PAD * 2 + widest * (W + GX / 2) + 90;
    const vertical = across > available && down < across;
    const xy = new Map();
    levels.forEach((ks, l) => ks.forEach((k, i) => {
      const offset = (widest - ks.length) / 2;
      xy.set(k, vertical
        ? { x: PAD + (i + offset) * (W + GX / 2), y: PAD + l * (H + GX) }
        : { x: PAD + l * (W + GX), y: PAD + (i + offset) * (H + GY) });
    }));
    // Room for the lanes of edges that skip levels (right of a vertical graph, below a horizontal one).
    const width = (vertical ? PAD * 2 + widest * (W + GX / 2) - GX / 2 : PAD * 2 + levels.length * (W + GX) - GX) + (vertical ? 90 : 0);
    const height = (vertical ? PAD * 2 + levels.length * (H + GX) - GX : PAD * 2 + widest * (H + GY) - GY) + (vertical ? 0 : 60);
    const markerId = 'arrow-' + Math.random().toString(36).slice(2);
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': options.label, 'data-orientation': vertical ? 'vertical' : 'horizontal' },
      s('defs', {}, s('marker', { id: markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }))));
    const { level } = layout(nodes, edges);
    let lane = 0;
    for (const e of edges) {
      const a = xy.get(e.from), b = xy.get(e.to);
      if (!a || !b) continue;
      // An edge that skips levels goes around the nodes between (right of them, or below them), on its own lane.
      const skip = level.get(e.to) - level.get(e.from) > 1 ? 26 + 9 * (lane++ % 4) : 0;
      const d = skip && vertical
        ? `M${a.x + W},${a.y + H / 2} C${a.x + W + skip * 2},${a.y + H / 2} ${b.x + W + skip * 2},${b.y + H / 2} ${b.x + W + 2},${b.y + H / 2}`
        : skip
          ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + skip * 1.6} ${b.x + W / 2},${b.y + H + skip * 1.6} ${b.x + W / 2},${b.y + H + 2}`
          : vertical
        ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + GX / 2} ${b.x + W / 2},${b.y - GX / 2} ${b.x + W / 2},${b.y - 2}`
        : `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x - 2},${b.y + H / 2}`;
      svg.append(s('path', { d, class: 'edge', 'marker-end': `url(#${markerId})`, 'data-edge': `${e.from}>${e.to}` }));
    }
    const trim = (t, n) => (t.length > n ? t.slice(0, n - 1) + '…' : t);
    for (const k of levels.flat()) {
      const n = byKey.get(k);
      const { x, y } = xy.get(k);
      const shape = n.kind === 'execution'
        ? s('rect', { x, y, width: W, height: H, rx: 26, class: 'fill-execution' })
        : s('rect', { x, y, width: W, height: H, rx: 7, class: `fill-${n.state}` });
      const group = s('g', {
        class: `gnode${options.selected === k ? ' selected' : ''}${n.root ? ' root' : ''}`,
        tabindex: 0, role: 'button', 'aria-label': n.title, 'data-focus': 'node:' + k,
        'aria-pressed': options.selected === k ? 'true' : null,
        ...(options.nodeAttrs ? options.nodeAttrs(n) : {}),
      }, s('title', {}, n.title), shape,
      s('text', { x: x + 10, y: y + 21 }, trim(n.label, 22)),
      s('text', { x: x + 10, y: y + 39, class: 'sub' }, trim(n.sub || '', 27)));
      group.addEventListener('click', () => options.onActivate(k));
      group.addEventListener('keydown', ev => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); options.onActivate(k); }
      });
      svg.append(group);
    }
    container.append(svg);
    return container;
  }

  // ---------- artifacts ----------
  async function artifactView(id) {
    const mine = view;
    page(`Artifact #${id}`, h('p', { class: 'muted' }, 'Loading the artifact…'));
    focusHeading();
    let detail;
    try { detail = await api(`${config.dashboard}/artifacts/${enc(id)}`); } catch (e) { if (mine === view) failed(e); return; }
    if (mine !== view) return;
    const a = g(detail, 'artifact');
    const producers = g(detail, 'producers') || [];
    const consumers = g(detail, 'consumers') || [];
    const files = g(detail, 'files') || [];
    const lineage = g(detail, 'lineage');
    const props = { ...(g(a, 'properties') || {}), ...(g(a, 'customProperties') || {}) };
    const execLink = e => h('span', {},
      g(e, 'runId') ? h('a', { href: `#/runs/${enc(g(e, 'runId'))}?node=${enc(g(e, 'node') || '')}` }, `${g(e, 'node') || g(e, 'type')} in run ${g(e, 'runId')}`) : `${g(e, 'type')} #${g(e, 'id')}`,
      ' ', badge(g(e, 'state')));
    const heading = page(`${g(a, 'type')} ${g(a, 'label')} (#${g(a, 'id')})`,
      h('dl', { class: 'summary' },
        h('dt', {}, 'Type'), h('dd', {}, g(a, 'type')),
        h('dt', {}, 'State'), h('dd', {}, badge(g(a, 'state'))),
        h('dt', {}, 'URI'), h('dd', { class: 'mono' }, g(a, 'uri')),
        h('dt', {}, 'Created'), h('dd', {}, fmtTime(g(a, 'createTime'))),
        h('dt', {}, 'Produced by'), h('dd', {}, producers.length ? producers.map(execLink) : 'nothing (a source)'),
        h('dt', {}, 'Read by'), h('dd', {}, consumers.length ? h('ul', {}, consumers.map(e => h('li', {}, execLink(e)))) : 'nothing yet')),
      h('h3', {}, 'Properties'),
      Object.keys(props).length
        ? table(['Property', 'Value'], Object.entries(props).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [h('span', { class: 'mono' }, k), h('span', { class: 'mono' }, typeof v === 'string' && v.length > 400 ? v.slice(0, 400) + '…' : String(v))]))
        : h('p', { class: 'muted' }, 'none'),
      h('h3', { id: 'lineage-title' }, 'Lineage'),
      h('p', { class: 'hint' }, 'Upstream to the source data, downstream to what was made from it. Artifacts are square, executions round; Enter opens one.'),
      lineage ? drawGraph(lineageNodes(lineage), g(lineage, 'edges').map(e => ({ from: g(e, 'from'), to: g(e, 'to') })), {
        label: `Lineage of artifact ${id}`,
        selected: null,
        onActivate: k => {
          const n = g(lineage, 'nodes').find(x => g(x, 'key') === k);
          if (!n) return;
          if (g(n, 'kind') === 'artifact') location.hash = `#/artifacts/${g(n, 'id')}`;
          else if (g(n, 'runId')) location.hash = `#/runs/${enc(g(n, 'runId'))}?node=${enc(g(n, 'node') || '')}`;
        },
        nodeAttrs: n => ({ 'data-lineage': n.key, 'data-kind': n.kind }),
      }) : null,
      lineage && g(lineage, 'truncated') ? h('p', { class: 'hint' }, 'The downstream graph was cut at 400 nodes.') : null,
      h('h3', {}, 'Files and reports'),
      files.length ? table(['File', 'Size'], files.map(f => [
        g(f, 'served') ? h('a', { href: fileUrl(g(a, 'id'), g(f, 'path')), target: '_blank', rel: 'noopener noreferrer' }, g(f, 'path')) : g(f, 'path'),
        { num: true, value: fmtBytes(g(f, 'length')) }])) : h('p', { class: 'muted' }, 'No files (a source file outside the artifact store, or not published).'),
      h('div', { class: 'cards', id: 'reports' }));
    void heading;
    const reports = main.querySelector('#reports');
    for (const f of files.filter(x => g(x, 'served'))) {
      const path = g(f, 'path');
      const url = fileUrl(g(a, 'id'), path);
      if (/\.html?$/i.test(path)) {
        reports.append(h('section', { 'aria-label': `Report ${path}` }, h('h4', {}, path),
          h('iframe', { class: 'report', src: url, title: `${path} of artifact ${g(a, 'id')}`, sandbox: '', 'data-report': path })));
      } else if (/\.svg$/i.test(path)) {
        reports.append(h('section', { 'aria-label': `Chart ${path}` }, h('h4', {}, path),
          h('img', { class: 'report-img', src: url, alt: `${path} of artifact ${g(a, 'id')} (training curves)`, 'data-report': path })));
      } else if (/\.json$/i.test(path) && g(f, 'length') <= 200000 && files.length <= 40) {
        const pre = h('pre', { tabindex: 0, 'aria-label': path }, 'loading…');
        const section = h('section', { 'data-report': path }, h('details', { open: /schema|anomal|diff|metrics|hyperparameters|infra/i.test(path) && files.length <= 12 },
          h('summary', {}, path), pre));
        reports.append(section);
        fetch(url, { cache: 'no-store' }).then(r => r.text()).then(t => {
          let data = null;
          try { data = JSON.parse(t); pre.textContent = JSON.stringify(data, null, 2); } catch { pre.textContent = t; }
          // A schema or an anomalies file reads better as a table; the JSON stays one click away.
          const readable = data && renderJsonReport(path, data);
          if (readable) section.replaceChildren(h('h4', {}, path), readable, h('details', {}, h('summary', {}, `${path} as JSON`), pre));
        }).catch(e => { pre.textContent = String(e); });
      }
    }
  }

  // TFMD's schema (feature list) and our anomalies (TFDV's AnomalyInfo, reduced) as tables; null for anything else.
  function renderJsonReport(path, data) {
    const pick = (o, ...names) => { for (const n of names) { const v = g(o, n); if (v !== undefined) return v; } return undefined; };
    const features = g(data, 'feature');
    if (Array.isArray(features) && features.length && features.every(f => g(f, 'name'))) {
      const domain = f => {
        const strings = g(pick(f, 'string_domain', 'stringDomain'), 'value');
        if (Array.isArray(strings)) return strings.length > 8 ? `${strings.slice(0, 8).join(', ')} … (${strings.length})` : strings.join(', ');
        const range = pick(f, 'float_domain', 'floatDomain', 'int_domain', 'intDomain');
        if (range) return `${g(range, 'min') ?? '−∞'} … ${g(range, 'max') ?? '∞'}`;
        return '';
      };
      const presence = f => { const p = g(f, 'presence'); const m = p && pick(p, 'min_fraction', 'minFraction'); return m === undefined || m === null ? '' : `≥ ${Math.round(m * 1000) / 10} %`; };
      return table(['Feature', 'Type', 'Present in', 'Domain'], features.map(f => [h('span', { class: 'mono' }, g(f, 'name')), g(f, 'type') || '', presence(f), domain(f)]), 'stack schema');
    }
    const items = pick(data, 'items', 'anomalies');
    if (Array.isArray(items) && /diff|anomal/i.test(path)) {
      return items.length === 0
        ? h('p', { class: 'ok', 'data-anomalies': 0 }, 'No anomalies.')
        : table(['Feature', 'Anomaly', 'Description'], items.map(a => [
          h('span', { class: 'mono' }, g(a, 'feature') || '(dataset)'),
          h('span', {}, pick(a, 'short_description', 'shortDescription') || '', h('br'), h('span', { class: 'mono muted' }, g(a, 'type') || '')),
          g(a, 'description') || '']), 'stack anomalies');
    }
    return null;
  }

  function lineageNodes(lineage) {
    const root = g(lineage, 'root');
    return g(lineage, 'nodes').map(n => {
      const kind = g(n, 'kind');
      const label = kind === 'artifact' ? g(n, 'label') : `${g(n, 'node') || g(n, 'type')}`;
      const sub = kind === 'artifact' ? `${g(n, 'type')} #${g(n, 'id')}` : `${g(n, 'type')} · ${words(g(n, 'state'))}`;
      return {
        key: g(n, 'key'), kind, root: g(n, 'key') === root, label, sub, state: g(n, 'state'),
        title: kind === 'artifact' ? `artifact ${label}, ${g(n, 'type')} #${g(n, 'id')}` : `execution ${label}${g(n, 'runId') ? ' in run ' + g(n, 'runId') : ''}, ${words(g(n, 'state'))}`,
      };
    });
  }

  // ---------- models ----------
  async function modelsView() {
    const mine = view;
    const heading = page('Models', h('p', { class: 'muted' }, 'Loading models…'));
    focusHeading();
    let models;
    try { models = await api(`${config.dashboard}/models`); } catch (e) { if (mine === view) failed(e); return; }
    if (mine !== view) return;
    const content = models.length === 0
      ? [h('p', { class: 'muted' }, 'No model has been pushed yet. A run whose Pusher blesses a model adds a version here.')]
      : models.map(m => h('section', { 'aria-labelledby': `model-${g(m, 'name')}`, 'data-model': g(m, 'name') },
        h('h3', { id: `model-${g(m, 'name')}` }, g(m, 'name')),
        table(['Version', 'Status', 'Blessing', 'Pushed', 'Run', 'Evaluation'], g(m, 'versions').map(v => {
          const p = g(v, 'push');
          return [
            { num: true, value: String(g(v, 'version')) },
            g(v, 'serving') ? badge('Succeeded', 'serving') : g(v, 'ready') ? badge('Cached', 'ready') : badge('Skipped', 'not in repository'),
            p && g(p, 'blessed') !== null && g(p, 'blessed') !== undefined
              ? h('a', { href: `#/artifacts/${g(p, 'blessingArtifactId')}` }, g(p, 'blessed') ? badge('Complete', 'blessed') : badge('Failed', 'not blessed'))
              : h('span', { class: 'muted' }, 'unknown'),
            p ? h('a', { href: `#/artifacts/${g(p, 'artifactId')}` }, fmtTime(g(p, 'pushedAt'))) : '',
            p && g(p, 'runId') ? h('a', { href: `#/runs/${enc(g(p, 'runId'))}`, 'data-run': g(p, 'runId') }, g(p, 'runId')) : '',
            p && g(p, 'evaluationArtifactId') ? h('a', { href: `#/artifacts/${g(p, 'evaluationArtifactId')}` }, 'metrics and slices') : '',
          ];
        }), 'stack models'),
        h('p', { class: 'hint' }, 'The model server serves the newest ready version (TF Serving’s “latest” policy).')));
    heading.nextElementSibling?.remove(); // "Loading models…"
    heading.after(...content);
    say(`Updated ${fmtTime(new Date())}`);
  }

  // ---------- start a run ----------
  async function startView(params) {
    const mine = view;
    page('Start a run', h('p', { class: 'muted' }, 'Loading pipelines…'));
    focusHeading();
    let pipelines;
    try { pipelines = await api(`${config.api}/pipelines`); } catch (e) { if (mine === view) failed(e); return; }
    if (mine !== view) return;
    if (pipelines.length === 0) {
      page('Start a run', h('p', {}, 'No pipeline files in the host’s pipelines folder.'));
      return;
    }
    const wanted = params.get('pipeline');
    const select = h('select', { id: 'start-pipeline', required: true }, pipelines.map(p => h('option', { value: g(p, 'name'), selected: g(p, 'name') === wanted }, g(p, 'name'))));
    const nodesHint = h('p', { class: 'hint', id: 'start-nodes' });
    const showNodes = () => { const p = pipelines.find(x => g(x, 'name') === select.value); nodesHint.textContent = p ? `Nodes: ${(g(p, 'nodes') || []).join(', ')}` : ''; };
    select.addEventListener('change', showNodes);
    showNodes();
    const parameters = h('textarea', { id: 'start-parameters', 'aria-describedby': 'start-parameters-hint', spellcheck: 'false', placeholder: 'trainer.epochs=5' });
    const runId = h('input', { id: 'start-run-id', type: 'text', size: 40, 'aria-describedby': 'start-run-id-hint', autocomplete: 'off' });
    const result = h('div', { id: 'start-result' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Start run');
    page('Start a run',
      h('form', {
        onsubmit: async ev => {
          ev.preventDefault();
          const overrides = {};
          const problems = [];
          parameters.value.split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#')).forEach((line, i) => {
            const eq = line.indexOf('=');
            if (eq <= 0) problems.push(`line ${i + 1}: “${line}” is not NAME=VALUE`);
            else overrides[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
          });
          if (problems.length) { result.replaceChildren(h('div', { class: 'alert', role: 'alert' }, h('ul', {}, problems.map(p => h('li', {}, p))))); return; }
          submit.disabled = true;
          try {
            const body = { parameters: overrides };
            if (runId.value.trim()) body.runId = runId.value.trim();
            const started = await api(`${config.api}/pipelines/${enc(select.value)}/runs`, { method: 'POST', body });
            location.hash = `#/runs/${enc(g(started, 'id'))}`;
          } catch (e) {
            const errors = (e.body && e.body.errors) || [];
            result.replaceChildren(h('div', { class: 'alert', role: 'alert' }, h('p', {}, e.message), errors.length ? h('ul', {}, errors.map(x => h('li', {}, x))) : null));
            submit.disabled = false;
          }
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'start-pipeline' }, 'Pipeline'), select, nodesHint),
      h('div', { class: 'field' }, h('label', { for: 'start-parameters' }, 'Parameter overrides'), parameters,
        h('p', { class: 'hint', id: 'start-parameters-hint' }, 'One per line: ', h('code', {}, 'node.parameter=value'), ' or ', h('code', {}, 'parameter=value'),
          '. Requests may set only parameters a component declares safe (numbers, flags, names); the host answers which it refused.')),
      h('div', { class: 'field' }, h('label', { for: 'start-run-id' }, 'Run id (optional)'), runId,
        h('p', { class: 'hint', id: 'start-run-id-hint' }, 'Default: a new unguessable id. A finished run’s id starts it again.')),
      submit, result));
  }

  window.addEventListener('hashchange', () => { navigated = true; route(); });
  route();
})();

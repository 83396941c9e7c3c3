'use strict';
// The flow list: the filter bar, the charts for the current filter, one page of flows.

(function () {
  const params = flowdb.params();
  const filters = params.filter(([k]) => k !== 'limit' && k !== 'offset' && k !== 'token');
  const limit = Number((params.find(([k]) => k === 'limit') || [0, '100'])[1]) || 100;
  const offset = Number((params.find(([k]) => k === 'offset') || [0, '0'])[1]) || 0;
  const input = document.getElementById('filter');
  input.value = flowdb.unwords(filters);

  document.getElementById('filter-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const q = flowdb.query(flowdb.words(input.value));
    location.href = '/' + (q ? '?' + q : '');
  });

  // a flow's name in links: its id, or ARCHIVE:ID when several archives are served
  const ref = f => f.archive ? f.archive + ':' + f.id : String(f.id);
  const columns = [
    ['archive', 'archive', f => f.archive || ''],
    ['id', 'id', f => f.id, 'num'],
    ['start', 'start', f => f.start],
    ['proto', 'proto', f => f.proto],
    ['client', 'client', f => f.client_ip + ':' + f.client_port],
    ['server', 'server', f => f.server_ip + ':' + f.server_port],
    ['state', 'state', f => f.conn_state ? f.conn_state + ' (' + f.state + ')' : f.state],
    ['history', 'history', f => f.history || ''],
    ['app', 'app', f => f.app || ''],
    ['host', 'host', f => f.app_host || ''],
    ['c2s', 'client bytes', f => f.c2s_bytes, 'num'],
    ['s2c', 'server bytes', f => f.s2c_bytes, 'num'],
    ['packets', 'packets', f => f.packets, 'num'],
    ['gaps', 'gaps', f => f.gaps, 'num'],
  ];
  let rows = [];
  let sortKey = 'id', sortUp = true;

  const head = document.querySelector('#flows thead tr');
  for (const [key, title, , kind] of columns) {
    const th = flowdb.el('th');
    const b = flowdb.el('button', title, 'sort');
    b.type = 'button';
    b.dataset.key = key;
    if (kind === 'num') th.className = 'num';
    b.addEventListener('click', () => {
      if (sortKey === key) sortUp = !sortUp; else { sortKey = key; sortUp = true; }
      render();
    });
    th.appendChild(b);
    head.appendChild(th);
  }

  function render() {
    // the archive column only when several archives are served
    const several = rows.some(f => f.archive);
    for (const th of head.querySelectorAll('th')) th.hidden = !several && th.firstChild.dataset.key === 'archive';
    const col = columns.find(c => c[0] === sortKey);
    const sorted = rows.slice().sort((a, b) => {
      const x = col[2](a), y = col[2](b);
      const c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return sortUp ? c : -c;
    });
    const body = document.querySelector('#flows tbody');
    body.replaceChildren();
    for (const f of sorted) {
      const tr = flowdb.el('tr');
      tr.dataset.id = f.id;
      for (const [key, , get, kind] of columns) {
        if (key === 'archive' && !several) continue;
        const td = flowdb.el('td', null, kind === 'num' ? 'num' : key);
        const v = get(f);
        if (key === 'id') td.appendChild(flowdb.link('/flows/' + flowdb.pathPart(ref(f)), v));
        else if (key === 'c2s' || key === 's2c') td.textContent = flowdb.bytes(v);
        else td.textContent = v;
        if (key === 'history') td.title = flowdb.history(f.history);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    for (const b of head.querySelectorAll('button.sort')) {
      b.setAttribute('aria-sort', b.dataset.key === sortKey ? (sortUp ? 'ascending' : 'descending') : 'none');
    }
  }

  function pageURL(newOffset) {
    const p = filters.concat([['limit', String(limit)], ['offset', String(Math.max(0, newOffset))]]);
    return '/?' + flowdb.query(p);
  }

  async function load() {
    flowdb.setStatus('loading…');
    try {
      const page = await flowdb.json('/api/flows?' + flowdb.query(filters.concat([['limit', String(limit)], ['offset', String(offset)]])));
      rows = page.flows;
      render();
      const last = offset + rows.length;
      const of = page.total_exact ? String(page.total) : `more than ${page.total}`;
      flowdb.setStatus(page.total === 0 ? 'no flows match' : rows.length ? `flows ${offset + 1}–${last} of ${of}` : `past the last of ${of} flows`);
      document.getElementById('page').textContent = rows.length ? `${offset + 1}–${last} of ${of}` : '';
      const prev = document.getElementById('prev'), next = document.getElementById('next');
      prev.disabled = offset === 0;
      next.disabled = page.total_exact ? last >= page.total : rows.length < limit;
      prev.onclick = () => { location.href = pageURL(offset - limit); };
      next.onclick = () => { location.href = pageURL(offset + limit); };
    } catch (e) {
      flowdb.setStatus(e.message, true);
    }
    try {
      charts(await flowdb.json('/api/summary?' + flowdb.query(filters)));
    } catch (e) { /* the list said what went wrong */ }
  }

  function charts(s) {
    const svg = document.getElementById('timeline');
    svg.replaceChildren();
    const max = Math.max(1, ...s.timeline.map(b => b.flows));
    const n = s.timeline.length;
    if (n) {
      const t0 = s.timeline[0].t, t1 = s.timeline[n - 1].t + s.bucket_ns;
      const w = 600 / Math.max(1, (t1 - t0) / s.bucket_ns);
      for (const b of s.timeline) {
        const h = 150 * b.flows / max;
        const r = flowdb.svg('rect', { x: (b.t - t0) / s.bucket_ns * w, y: 155 - h, width: Math.max(1, w - 1), height: h, class: 'bar' });
        const tip = flowdb.svg('title');
        tip.textContent = `${flowdb.time(b.t)}: ${b.flows} flows, ${flowdb.bytes(b.bytes)}`;
        r.appendChild(tip);
        svg.appendChild(r);
      }
      document.getElementById('timeline-range').textContent = `${flowdb.time(t0)} – ${flowdb.time(t1)}, ${max} flows at most per bar`;
    }
    const talkers = document.querySelector('#talkers tbody');
    talkers.replaceChildren();
    for (const t of s.talkers) {
      const tr = flowdb.el('tr');
      const td = flowdb.el('td');
      td.appendChild(flowdb.link('/?' + flowdb.query([['host', t.ip]]), t.ip));
      tr.append(td, flowdb.el('td', t.flows + ' flows', 'num'), flowdb.el('td', flowdb.bytes(t.bytes), 'num'));
      talkers.appendChild(tr);
    }
    const mix = document.querySelector('#mix tbody');
    mix.replaceChildren();
    const total = s.mix.reduce((a, m) => a + m.flows, 0) || 1;
    for (const m of s.mix) {
      const tr = flowdb.el('tr');
      const p = [['proto', m.proto]];
      if (m.app && ['http', 'tls', 'ssh'].includes(m.app)) p.push(['app', m.app]);
      const td = flowdb.el('td');
      td.appendChild(flowdb.link('/?' + flowdb.query(p), m.proto + (m.app ? ' / ' + m.app : '')));
      const bar = flowdb.el('td');
      const meter = flowdb.el('meter');
      meter.max = total;
      meter.value = m.flows;
      bar.appendChild(meter);
      tr.append(td, flowdb.el('td', m.flows + ' flows', 'num'), bar);
      mix.appendChild(tr);
    }
  }

  load();
})();

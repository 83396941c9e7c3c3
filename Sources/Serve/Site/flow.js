'use strict';
// One flow: its details, downloads, timeline, application rows, and follow stream.

(function () {
  const m = location.pathname.match(/^\/flows\/([^/]+)$/);
  if (!m) { flowdb.setStatus('not a flow page', true); return; }
  let id;
  try { id = decodeURIComponent(m[1]); } catch (e) { flowdb.setStatus('not a flow page', true); return; }
  const api = '/api/flows/' + flowdb.pathPart(id);

  document.getElementById('pcap').href = api + '/pcap';
  document.getElementById('raw-client').href = api + '/stream?dir=client';
  document.getElementById('raw-server').href = api + '/stream?dir=server';

  function detail(dl, name, value) {
    if (value === null || value === undefined || value === '') return;
    dl.append(flowdb.el('dt', name), flowdb.el('dd', value));
  }

  function table(title, rows) {
    const section = document.getElementById('applications');
    section.appendChild(flowdb.el('h2', title));
    for (const row of rows) {
      const t = flowdb.el('table', null, 'record');
      for (const [k, v] of Object.entries(row)) {
        if (v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
        const tr = flowdb.el('tr');
        tr.append(flowdb.el('th', k), flowdb.el('td', typeof v === 'object' ? JSON.stringify(v) : v));
        t.appendChild(tr);
      }
      section.appendChild(t);
    }
  }

  async function details() {
    const d = await flowdb.json(api);
    const f = d.flow;
    document.getElementById('title').textContent = `flow ${id}: ${f.client_ip}:${f.client_port} → ${f.server_ip}:${f.server_port} (${f.proto})`;
    document.title = `flowdb — flow ${f.id}`;
    const dl = document.getElementById('details');
    detail(dl, 'client', `${f.client_ip}:${f.client_port}`);
    detail(dl, 'server', `${f.server_ip}:${f.server_port}`);
    detail(dl, 'transport', `${f.proto}, IPv${f.ip_version}`);
    detail(dl, 'first packet', flowdb.time(f.first_ts));
    detail(dl, 'last packet', flowdb.time(f.last_ts));
    detail(dl, 'duration', ((f.last_ts - f.first_ts) / 1e9).toFixed(6) + ' s');
    detail(dl, 'state', f.conn_state ? `${f.conn_state} (${f.state})` : f.state);
    detail(dl, 'history', f.history ? `${f.history}: ${flowdb.history(f.history)}` : null);
    detail(dl, 'encapsulation', f.encapsulation);
    detail(dl, 'application', f.app ? f.app + (f.app_host ? ' ' + f.app_host : '') : null);
    detail(dl, 'client → server', `${flowdb.bytes(f.c2s_bytes)} (${f.c2s_bytes} bytes, ${f.c2s_stored} stored), ${f.c2s_packets ?? '?'} packets, ${f.c2s_ip_bytes ?? '?'} IP bytes`);
    detail(dl, 'server → client', `${flowdb.bytes(f.s2c_bytes)} (${f.s2c_bytes} bytes, ${f.s2c_stored} stored), ${f.s2c_packets ?? '?'} packets, ${f.s2c_ip_bytes ?? '?'} IP bytes`);
    detail(dl, 'gaps', d.gaps.length ? d.gaps.map(g => `${g.dir} at ${g.stream_offset}: ${g.length ?? 'unknown'} bytes`).join('; ') : '0');
    detail(dl, 'capture', `${f.capture_path} (capture ${f.capture})`);
    for (const [key, title] of [['http', 'HTTP'], ['tls', 'TLS'], ['ssh', 'SSH'], ['dns', 'DNS'], ['anomaly', 'Anomalies (as Zeek\'s weird.log)']]) {
      if (d[key] && d[key].length) table(title, d[key]);
    }
  }

  async function objects() {
    const o = await flowdb.json(api + '/objects');
    const box = document.getElementById('objects');
    if (!o.objects.length) return;
    box.appendChild(flowdb.el('h2', 'HTTP objects'));
    const ul = flowdb.el('ul');
    for (const obj of o.objects) {
      const li = flowdb.el('li');
      const a = flowdb.link(api + '/objects/' + encodeURIComponent(obj.sha256), obj.sha256.slice(0, 16) + '…');
      a.setAttribute('download', obj.sha256);
      li.append(a, flowdb.el('span', ` ${obj.body} ${obj.method || ''} ${obj.uri || ''} ${obj.content_type || ''} ${obj.decoded_bytes} bytes`));
      ul.appendChild(li);
    }
    box.appendChild(ul);
  }

  async function timeline() {
    const t = await flowdb.json(api + '/timeline');
    const svg = document.getElementById('flow-timeline');
    const span = Math.max(1, t.last_ts - t.first_ts);
    const top = Math.max(1, ...t.client.map(p => p[1]), ...t.server.map(p => p[1]));
    const x = ts => 5 + 590 * (ts - t.first_ts) / span;
    const y = off => 175 - 170 * off / top;
    for (const dir of ['client', 'server']) {
      const pts = t[dir];
      if (!pts.length) continue;
      const path = pts.map(p => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ');
      svg.appendChild(flowdb.svg('polyline', { points: path, class: 'line ' + dir }));
      for (const p of pts.length <= 200 ? pts : []) svg.appendChild(flowdb.svg('circle', { cx: x(p[0]), cy: y(p[1]), r: 2, class: 'dot ' + dir }));
    }
    for (const g of t.gaps) {
      const mark = flowdb.svg('line', { x1: 0, x2: 600, y1: y(g.stream_offset), y2: y(g.stream_offset), class: 'gapline' });
      const tip = flowdb.svg('title');
      tip.textContent = `${g.dir} gap at ${g.stream_offset}: ${g.length ?? 'unknown'} bytes`;
      mark.appendChild(tip);
      svg.appendChild(mark);
    }
  }

  // follow stream: pages of deliveries, kept decoded so the view can switch
  const deliveries = [];
  let next = -1, view = 'ascii', policy = '';
  const expected = { client: 0, server: 0 };

  function decode(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function ascii(bytes) {
    let s = '';
    for (const b of bytes) s += (b === 10 || b === 9 || (b >= 32 && b < 127)) ? String.fromCharCode(b) : (b === 13 ? '' : '.');
    return s;
  }
  function hex(bytes, offset) {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = bytes.subarray(i, i + 16);
      let h = '';
      for (let k = 0; k < 16; k++) { h += k < row.length ? row[k].toString(16).padStart(2, '0') + ' ' : '   '; if (k === 7) h += ' '; }
      let a = '';
      for (const b of row) a += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
      lines.push((offset + i).toString(16).padStart(8, '0') + '  ' + h + ' |' + a + '|');
    }
    return lines.join('\n');
  }
  function block(d) {
    const out = [];
    const at = expected[d.dir];
    if (d.stream_offset > at || d.skip > 0) {
      const n = d.skip > 0 ? d.skip : d.stream_offset - at;
      out.push(flowdb.el('div', `[${d.dir}: gap of ${d.skip < 0 ? 'unknown length' : n + ' bytes'}]`, 'gap'));
    }
    expected[d.dir] = d.stream_offset + d.length;
    if (d.bytes.length) {
      const pre = flowdb.el('pre', view === 'hex' ? hex(d.bytes, d.stream_offset) : ascii(d.bytes), 'chunk ' + d.dir);
      pre.dataset.offset = d.stream_offset;
      pre.title = `${d.dir}, ${flowdb.time(d.ts_first)}, offset ${d.stream_offset}, ${d.length} bytes`;
      out.push(pre);
    } else if (d.length > d.stored) {
      out.push(flowdb.el('div', `[${d.dir}: ${d.length - d.stored} bytes not stored]`, 'gap'));
    }
    return out;
  }
  function renderAll() {
    const box = document.getElementById('follow');
    expected.client = 0; expected.server = 0;
    const nodes = [];
    for (const d of deliveries) nodes.push(...block(d));
    box.replaceChildren(...nodes);
  }
  async function more() {
    const page = await flowdb.json(api + '/follow?' + flowdb.query([['after', String(next)]].concat(policy ? [['policy', policy]] : [])));
    const box = document.getElementById('follow');
    for (const d of page.deliveries) {
      d.bytes = decode(d.data);
      delete d.data;
      deliveries.push(d);
      box.append(...block(d));
    }
    next = page.next;
    const button = document.getElementById('more');
    button.hidden = next === null;
    const bytes = deliveries.reduce((a, d) => a + d.bytes.length, 0);
    document.getElementById('follow-status').textContent = `${deliveries.length} deliveries, ${bytes} bytes shown` + (next === null ? ' (all)' : '');
  }
  function setView(v) {
    view = v;
    document.getElementById('view-ascii').setAttribute('aria-pressed', String(v === 'ascii'));
    document.getElementById('view-hex').setAttribute('aria-pressed', String(v === 'hex'));
    renderAll();
  }
  document.getElementById('view-ascii').addEventListener('click', () => setView('ascii'));
  document.getElementById('view-hex').addEventListener('click', () => setView('hex'));
  document.getElementById('more').addEventListener('click', () => more().catch(e => flowdb.setStatus(e.message, true)));
  // another target: the follow stream is read again from its start
  document.getElementById('policy').addEventListener('change', (event) => {
    policy = event.target.value;
    deliveries.length = 0;
    next = -1;
    document.getElementById('follow').replaceChildren();
    more().catch(e => flowdb.setStatus(e.message, true));
  });

  (async () => {
    try {
      await details();
    } catch (e) {
      flowdb.setStatus(e.message, true);
      return;
    }
    await Promise.all([objects(), timeline(), more()].map(p => p.catch(e => flowdb.setStatus(e.message, true))));
  })();
})();

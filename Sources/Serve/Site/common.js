'use strict';
// Shared by the pages. Every string from the archive came from packets: it is
// only ever set as text (textContent, attribute values we build), never as markup.

const flowdb = {
  // name=value words (values may be "quoted") to query parameters, in order
  words(text) {
    const out = [];
    const re = /\s*([a-z0-9-]+)=("((?:[^"\\]|\\.)*)"|\S*)/gy;
    let m;
    while ((m = re.exec(text)) !== null) {
      out.push([m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]]);
      if (re.lastIndex >= text.length) break;
    }
    return out;
  },
  unwords(params) {
    return params.map(([k, v]) => k + '=' + (/[\s"]/.test(v) || v === '' ? '"' + v.replace(/["\\]/g, '\\$&') + '"' : v)).join(' ');
  },
  // the page's own query, decoded as the server decodes it (a '+' stays a '+')
  params() {
    const q = location.search.replace(/^\?/, '');
    if (!q) return [];
    return q.split('&').filter(Boolean).map(p => {
      const i = p.indexOf('=');
      const dec = s => { try { return decodeURIComponent(s); } catch (e) { return s; } };
      return i < 0 ? [dec(p), ''] : [dec(p.slice(0, i)), dec(p.slice(i + 1))];
    });
  },
  // a flow reference as a path segment: percent-encoded, its ARCHIVE:ID colon kept
  pathPart(text) {
    return encodeURIComponent(text).replace(/%3A/g, ':');
  },
  query(params) {
    return params.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
  },
  async json(url) {
    const r = await fetch(url, { credentials: 'same-origin' });
    const text = await r.text();
    if (!r.ok) throw new Error(text.trim() || r.statusText);
    return JSON.parse(text);
  },
  el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  },
  link(href, text) {
    const a = flowdb.el('a', text);
    a.href = href;
    return a;
  },
  svg(tag, attrs) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  },
  bytes(n) {
    if (n === null || n === undefined) return '';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0, v = n;
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
  },
  time(ns) {
    if (ns === null || ns === undefined) return '';
    const ms = Math.floor(ns / 1e6);
    const d = new Date(ms);
    const frac = String(Math.floor((ns % 1e9) / 1e3)).padStart(6, '0');
    return d.toISOString().replace(/\.\d+Z$/, '.' + frac + 'Z');
  },
  // Zeek's history letters, spelled out
  history(h) {
    const names = { S: 'SYN', H: 'SYN-ACK', A: 'ACK', D: 'data', F: 'FIN', R: 'RST', C: 'bad checksum', G: 'content gap',
      T: 'retransmission', W: 'zero window', I: 'inconsistent', Q: 'multi-flag', '^': 'direction flipped' };
    return [...(h || '')].map(c => {
      const n = names[c.toUpperCase()];
      if (!n) return c;
      return (c === c.toUpperCase() && c !== '^' ? 'client ' : c === '^' ? '' : 'server ') + n;
    }).join(', ');
  },
  setStatus(text, isError) {
    const s = document.getElementById('status');
    s.textContent = text || '';
    s.className = isError ? 'error' : '';
  },
};

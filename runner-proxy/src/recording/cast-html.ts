import { readFileSync } from 'node:fs';
import { escapeHtml } from './report.js';

/**
 * Terminal recordings for report.html: one section per cast, played in the page by a small inline
 * script (no network, so the bundle's page works offline). The player draws text in a <pre>: cursor
 * movement and colours are dropped, carriage returns (overwriting) and backspaces are honoured, which is enough for
 * shells and command output; full-screen programs come out as their text.
 */
export function terminalSectionsHtml(casts: readonly { seq: number; file: string }[]): string {
  if (casts.length === 0) return '';
  const sections = casts.map(({ seq, file }) => {
    // The cast is JSON lines written by the gateway; embedded as JSON text, never as markup.
    const data = JSON.stringify(readFileSync(file, 'utf8')).replace(/</g, '\\u003c');
    return `<section class="terminal"><h3>Terminal of operation #${escapeHtml(seq)}</h3><button type="button">Play</button> <select><option value="1">1×</option><option value="4">4×</option><option value="16">16×</option></select><pre></pre><script type="application/json">${data}</script></section>`;
  });
  return `<h2>Terminals</h2>${sections.join('')}<style>.terminal pre{background:#111;color:#ddd;padding:8px;min-height:4em;white-space:pre-wrap}</style><script>${PLAYER}</script>`;
}

const PLAYER = `(() => {
  const strip = (s) => s.replace(/\\x1b\\[[0-9;?]*[ -\\/]*[@-~]/g, '').replace(/\\x1b\\][^\\x07\\x1b]*(\\x07|\\x1b\\\\)/g, '').replace(/\\x1b[()][0-9A-Za-z]|\\x1b[=>78]/g, '');
  const apply = (screen, text) => {
    for (const c of strip(text)) {
      if (c === '\\r') screen.col = 0;
      else if (c === '\\n') { screen.done += screen.line + '\\n'; screen.line = ''; screen.col = 0; }
      else if (c === '\\b') screen.col = Math.max(0, screen.col - 1);
      else if (c >= ' ' || c === '\\t') { screen.line = screen.line.slice(0, screen.col).padEnd(screen.col) + c + screen.line.slice(screen.col + 1); screen.col++; }
    }
  };
  for (const section of document.querySelectorAll('section.terminal')) {
    const lines = JSON.parse(section.querySelector('script').textContent).split('\\n').filter(Boolean);
    const events = lines.slice(1).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter((e) => Array.isArray(e) && e[1] === 'o');
    const pre = section.querySelector('pre');
    const speed = section.querySelector('select');
    let timer;
    section.querySelector('button').addEventListener('click', () => {
      clearTimeout(timer);
      const screen = { done: '', line: '', col: 0 };
      const started = performance.now();
      let next = 0;
      const step = () => {
        const now = (performance.now() - started) / 1000 * Number(speed.value);
        while (next < events.length && events[next][0] <= now) apply(screen, events[next++][2]);
        pre.textContent = screen.done + screen.line;
        if (next < events.length) timer = setTimeout(step, Math.max(10, (events[next][0] - now) * 1000 / Number(speed.value)));
      };
      step();
    });
    const whole = { done: '', line: '', col: 0 };
    for (const e of events) apply(whole, e[2]);
    pre.textContent = whole.done + whole.line;
  }
})();`;

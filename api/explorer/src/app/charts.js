// Charts with Chart.js, tree-shaken to the pieces used and loaded only by the pages that draw
// them (a separate chunk, so the home page does not carry it). Each chart also gets a table of
// the same numbers for screen readers and for readers who prefer text.

import { Chart, ArcElement, BarElement, BarController, DoughnutController, CategoryScale, LinearScale, Legend, Tooltip } from 'chart.js';
import { h, fmtInt } from './dom.js';

Chart.register(ArcElement, BarElement, BarController, DoughnutController, CategoryScale, LinearScale, Legend, Tooltip);

// Colour-blind-safe palette (Okabe–Ito), then greys.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000', '#999999', '#666666'];

function topN(counts, n = 8, sort = true) {
  if (Array.isArray(counts)) return counts.map(([k, v]) => [String(k), Number(v)]);
  if (!sort) return Object.entries(counts ?? {}).map(([k, v]) => [k, Number(v)]);
  const rows = Object.entries(counts ?? {}).map(([k, v]) => [k, Number(v)]).sort((a, b) => b[1] - a[1]);
  if (rows.length <= n) return rows;
  const rest = rows.slice(n - 1).reduce((s, [, v]) => s + v, 0);
  return [...rows.slice(0, n - 1), ['other', rest]];
}

/**
 * A chart of `counts` ({label: number}) of kind 'doughnut' or 'bar' with a title, plus a visually
 * hidden table of the same data.
 */
export function breakdownChart(title, counts, kind = 'doughnut', note = null) {
  const history = kind === 'bar-history';
  if (history) kind = 'bar';
  const rows = topN(counts, 8, !history);
  const id = 'c-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: ` + rows.map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ') });
  const fig = h(
    'figure',
    { class: 'card', 'aria-labelledby': id },
    h('figcaption', { id }, h('strong', null, title), note ? h('div', { class: 'note' }, note) : null),
    rows.length === 0 ? h('p', { class: 'empty' }, 'No data.') : h('div', { class: 'chart' }, canvas),
    h('details', null, h('summary', null, 'As a table'), h('table', null, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, fmtInt(v))))))),
  );
  if (rows.length > 0) {
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const fg = dark ? '#e6edf3' : '#1b1f24';
    new Chart(canvas, {
      type: kind,
      data: {
        labels: rows.map(([k]) => k),
        datasets: [{ label: title, data: rows.map(([, v]) => v), backgroundColor: history ? PALETTE[0] : rows.map((_, i) => PALETTE[i % PALETTE.length]), borderWidth: 1 }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: kind === 'bar' && !history ? 'y' : undefined,
        plugins: { legend: { display: kind !== 'bar', position: 'bottom', labels: { color: fg } } },
        scales: kind === 'bar' ? { x: { ticks: { color: fg } }, y: { ticks: { color: fg } } } : undefined,
      },
    });
  }
  return fig;
}

/** A bar chart of [label, value] pairs in the given order (e.g. items per version). */
export function historyChart(title, pairs) {
  return breakdownChart(title, pairs, 'bar-history');
}

/** One line of a {@link lineChart}. */
export interface LineSeries {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
}

const W = 760;
const H = 260;
const PAD = { left: 64, right: 16, top: 28, bottom: 36 };

/** Escapes text for HTML and SVG. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (v: number) => (v >= 1000 ? `${Math.round(v / 100) / 10}k` : `${Math.round(v * 100) / 100}`);

function frame(title: string, yMax: number, xMax: number, xLabel: string, yLabel: string): string {
  const plotH = H - PAD.top - PAD.bottom;
  const plotW = W - PAD.left - PAD.right;
  let grid = '';
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    grid += `<line x1="${PAD.left}" y1="${y}" x2="${W - PAD.right}" y2="${y}" stroke="#ddd"/>`;
    grid += `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${fmt((yMax * i) / 4)}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const x = PAD.left + (plotW * i) / 4;
    grid += `<text x="${x}" y="${H - PAD.bottom + 16}" text-anchor="middle">${fmt((xMax * i) / 4)}</text>`;
  }
  return (
    `<text x="${PAD.left}" y="16" font-weight="bold">${escapeHtml(title)}</text>${grid}` +
    `<text x="${W - PAD.right}" y="${H - 4}" text-anchor="end">${escapeHtml(xLabel)}</text>` +
    `<text x="12" y="${PAD.top + plotH / 2}" transform="rotate(-90 12 ${PAD.top + plotH / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>`
  );
}

/** A line chart as an inline SVG element. */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly LineSeries[],
): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = niceMax(Math.max(1, ...xs));
  const yMax = niceMax(Math.max(0, ...ys));
  const plotH = H - PAD.top - PAD.bottom;
  const plotW = W - PAD.left - PAD.right;
  const px = (x: number) => (PAD.left + (plotW * x) / xMax).toFixed(1);
  const py = (y: number) => (PAD.top + plotH - (plotH * y) / yMax).toFixed(1);
  let body = '';
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${px(p[0])},${py(p[1])}`).join('');
      body += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    }
    body += `<rect x="${W - PAD.right - 110}" y="${PAD.top + i * 16}" width="10" height="10" fill="${s.color}"/>`;
    body += `<text x="${W - PAD.right - 96}" y="${PAD.top + i * 16 + 9}">${escapeHtml(s.name)}</text>`;
  });
  return svg(frame(title, yMax, xMax, xLabel, yLabel) + body);
}

/** A bar chart of `bars` (label under each) as an inline SVG element. */
export function barChart(
  title: string,
  xLabel: string,
  yLabel: string,
  bars: readonly { label: string; value: number }[],
): string {
  const yMax = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const plotH = H - PAD.top - PAD.bottom;
  const plotW = W - PAD.left - PAD.right;
  const bw = plotW / Math.max(1, bars.length);
  let body = '';
  bars.forEach((b, i) => {
    const h = (plotH * b.value) / yMax;
    const x = PAD.left + i * bw;
    body += `<rect x="${(x + 1).toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"><title>${escapeHtml(`<= ${b.label}: ${b.value}`)}</title></rect>`;
  });
  const labelEvery = Math.max(1, Math.ceil(bars.length / 8));
  let labels = '';
  bars.forEach((b, i) => {
    if (i % labelEvery === 0) {
      labels += `<text x="${(PAD.left + i * bw + bw / 2).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${escapeHtml(b.label)}</text>`;
    }
  });
  const noXTicks = frame(title, yMax, 0, xLabel, yLabel).replace(
    /<text x="[\d.]+" y="\d+" text-anchor="middle">[^<]*<\/text>/g,
    '',
  );
  return svg(noXTicks + body + labels);
}

function svg(inner: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">${inner}</svg>`;
}

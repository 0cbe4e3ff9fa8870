/**
 * Line charts as standalone SVG: loss curves and the learning-rate schedule are
 * things people would rather look at than read. No dependencies: an SVG is text.
 */
export interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  logY?: boolean;
}

export function lineChartSvg(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const m = { left: 70, right: 20, top: 40, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
  const ty = (y: number): number => (o.logY ? Math.log10(y) : y);
  let [x0, x1] = extent(all.map((p) => p[0]));
  let [y0, y1] = extent(all.map((p) => ty(p[1])));
  // A flat series (or one flat up to rounding, like a constant lr of 0.02 vs 0.020000000000000004) gets a unit range.
  const flat = (a: number, b: number): boolean => b - a <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  if (flat(x0, x1)) [x0, x1] = [x0 - 1, x1 + 1];
  if (flat(y0, y1)) [y0, y1] = [y0 - Math.max(1e-3 * Math.abs(y0), 1e-12), y1 + Math.max(1e-3 * Math.abs(y1), 1e-12)];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + ph - ((ty(y) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(o.title)}</text>`);
  for (const t of ticks(x0, x1, 6)) {
    out.push(`<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${f(sx(t))}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of ticks(y0, y1, 6)) {
    const yv = o.logY ? 10 ** t : t;
    out.push(`<line x1="${m.left}" y1="${f(sy(yv))}" x2="${m.left + pw}" y2="${f(sy(yv))}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${f(sy(yv) + 4)}" text-anchor="end">${fmt(yv)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
    if (pts.length > 0) {
      const d = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${f(sx(x))},${f(sy(y))}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
      if (pts.length < 40) for (const [x, y] of pts) out.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="2.5" fill="${s.color}"/>`);
    }
    const lx = m.left + pw - 130;
    const ly = m.top + 14 + i * 18;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 20}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 26}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function extent(v: number[]): [number, number] {
  if (v.length === 0) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** "Nice" tick positions (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function ticks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  if (!(step > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return out;
  // Counting steps (not adding them up) always ends, even when step is below t's resolution.
  const first = Math.ceil(lo / step);
  for (let i = 0; i <= count * 10 + 2; i++) {
    const t = (first + i) * step;
    if (t > hi + step * 1e-9) break;
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

function f(x: number): string {
  return x.toFixed(1);
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-4) return x.toExponential(1);
  return Number(x.toPrecision(4)).toString();
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

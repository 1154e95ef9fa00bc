/**
 * DET plot as SVG text: false-reject rate (linear, 0–100 %) against false accepts per hour (log scale), one
 * panel per wake word, one line per setup, the operating threshold marked. Written by hand: the picture is a
 * few polylines and tick labels, and a plotting library would bring a DOM or a renderer into a CLI for one
 * static, deterministic file (same traces → byte-identical SVG).
 */
export interface DetSeries {
  name: string;
  /** One point per threshold (any order). */
  points: { faPerHour: number; frr: number }[];
  /** The setup's operating point (its threshold), drawn as a dot. */
  operating?: { faPerHour: number; frr: number; threshold: number };
}

export interface DetPanel {
  title: string;
  /** x-axis label (default "false accepts per hour (log)"). */
  xLabel?: string;
  series: DetSeries[];
}

export interface DetPlotOptions {
  title: string;
  panels: DetPanel[];
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** Log-scale x range in FA/h; 0 FA/h is drawn at the left edge (below `minFa`), labelled "0". */
  minFa?: number;
  maxFa?: number;
}

const PANEL_W = 360;
const PANEL_H = 280;
const MARGIN = { left: 56, right: 16, top: 40, bottom: 46 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
const f1 = (x: number): string => (Math.round(x * 10) / 10).toString();

export function detPlotSvg(opts: DetPlotOptions): string {
  const minFa = opts.minFa ?? 0.1;
  const maxFa = opts.maxFa ?? 1000;
  const lo = Math.log10(minFa);
  const hi = Math.log10(maxFa);
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  // 0 FA/h sits half a decade left of minFa, at the axis.
  const xOf = (fa: number): number => {
    const v = fa <= 0 ? lo - 0.5 : Math.min(hi, Math.max(lo, Math.log10(fa)));
    return MARGIN.left + ((v - (lo - 0.5)) / (hi - lo + 0.5)) * plotW;
  };
  const yOf = (frr: number): number => MARGIN.top + (1 - Math.min(1, Math.max(0, frr))) * plotH;
  const names = [...new Set(opts.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colour = (name: string): string => COLOURS[names.indexOf(name) % COLOURS.length]!;
  const columns = Math.max(1, Math.min(opts.columns ?? opts.panels.length, opts.panels.length));
  const rows = Math.max(1, Math.ceil(opts.panels.length / columns));
  const width = PANEL_W * columns;
  const legendH = 22 * names.length + 10;
  const height = PANEL_H * rows + 30 + legendH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  opts.panels.forEach((panel, i) => {
    out.push(`<g transform="translate(${(i % columns) * PANEL_W},${12 + Math.floor(i / columns) * PANEL_H})">`);
    out.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top - 8}" text-anchor="middle" font-size="12">${esc(panel.title)}</text>`);
    out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
    for (let frr = 0; frr <= 1.0001; frr += 0.2) {
      const y = f1(yOf(frr));
      out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
      out.push(`<text x="${MARGIN.left - 6}" y="${f1(yOf(frr) + 4)}" text-anchor="end">${Math.round(frr * 100)} %</text>`);
    }
    const ticks = [0, ...Array.from({ length: Math.round(hi - lo) + 1 }, (_, k) => 10 ** (lo + k))];
    for (const fa of ticks) {
      const x = f1(xOf(fa));
      out.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`);
      out.push(`<text x="${x}" y="${MARGIN.top + plotH + 14}" text-anchor="middle">${fa === 0 ? '0' : fa >= 1 ? String(Math.round(fa)) : String(fa)}</text>`);
    }
    out.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 32}" text-anchor="middle">${esc(panel.xLabel ?? 'false accepts per hour (log)')}</text>`);
    out.push(`<text transform="translate(14,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">false-reject rate</text>`);
    for (const s of panel.series) {
      // A DET curve runs from many false accepts / few misses to the reverse: order by FA/h, then by FRR.
      const pts = [...s.points].sort((a, b) => a.faPerHour - b.faPerHour || b.frr - a.frr);
      const path = pts.map((p) => `${f1(xOf(p.faPerHour))},${f1(yOf(p.frr))}`).join(' ');
      out.push(`<polyline fill="none" stroke="${colour(s.name)}" stroke-width="1.8" points="${path}"/>`);
      if (s.operating) {
        const o = s.operating;
        out.push(
          `<circle cx="${f1(xOf(o.faPerHour))}" cy="${f1(yOf(o.frr))}" r="4" fill="${colour(s.name)}"><title>${esc(s.name)} at ${o.threshold}: FRR ${(o.frr * 100).toFixed(1)} %, ${o.faPerHour.toFixed(2)} FA/h</title></circle>`,
        );
      }
    }
    out.push('</g>');
  });
  names.forEach((name, k) => {
    const y = PANEL_H * rows + 30 + 22 * k;
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + 24}" y1="${y}" y2="${y}" stroke="${colour(name)}" stroke-width="2.5"/>`);
    out.push(`<text x="${MARGIN.left + 32}" y="${y + 4}">${esc(name)} (dot: its threshold)</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

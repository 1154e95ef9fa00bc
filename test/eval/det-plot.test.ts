import { describe, expect, it } from 'vitest';
import { detPlotSvg } from '../../src/eval/index.js';

const series = (name: string, shift: number) => ({
  name,
  points: [0, 0.5, 2, 10, 100].map((fa, i) => ({ faPerHour: fa, frr: Math.max(0, 0.8 - i * 0.2 + shift) })),
  operating: { faPerHour: 0.5, frr: 0.6 + shift, threshold: 0.5 },
});

describe('DET plot SVG', () => {
  const svg = detPlotSvg({ title: 'DET <test> & more', panels: [{ title: 'hey_jarvis', series: [series('reference', 0.1), series('default', 0)] }, { title: 'alexa', series: [series('reference', 0)] }] });

  it('draws one curve per setup and panel, a dot per operating point, and a legend entry per setup', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain('reference (dot: its threshold)');
    expect(svg).toContain('default (dot: its threshold)');
    expect(svg).toContain('DET &lt;test&gt; &amp; more');
    expect(svg).not.toContain('<test>');
  });

  it('puts more false accepts further right (log x) and more misses higher', () => {
    const pts = svg.match(/points="([^"]+)"/)![1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
    expect(pts).toHaveLength(5);
    for (let i = 1; i < pts.length; i++) {
      expect(pts[i]![0]).toBeGreaterThan(pts[i - 1]![0]); // FA/h rises
      expect(pts[i]![1]).toBeGreaterThanOrEqual(pts[i - 1]![1]); // FRR falls = y grows downwards
    }
    // Log scale: 0.5 → 2 → 10 → 100 are 0.6, 0.7 and 1 decades apart.
    const dx = (a: number, b: number) => pts[b]![0] - pts[a]![0];
    expect(dx(3, 4) / dx(2, 3)).toBeCloseTo(1 / Math.log10(5), 1);
  });

  it('wraps panels into rows with `columns`', () => {
    const grid = detPlotSvg({ title: 't', columns: 1, panels: [{ title: 'a', series: [series('x', 0)] }, { title: 'b', xLabel: 'near-miss fires', series: [series('x', 0)] }] });
    expect(grid).toContain('<g transform="translate(0,12)">');
    expect(grid).toContain('<g transform="translate(0,292)">');
    expect(grid).toContain('near-miss fires');
    expect(Number(grid.match(/height="(\d+)"/)![1])).toBeGreaterThan(Number(svg.match(/height="(\d+)"/)![1]));
  });

  it('is deterministic', () => {
    expect(detPlotSvg({ title: 'DET <test> & more', panels: [{ title: 'hey_jarvis', series: [series('reference', 0.1), series('default', 0)] }, { title: 'alexa', series: [series('reference', 0)] }] })).toBe(svg);
  });
});

// The run's chart, as hand-written SVG: latency CDFs per contender (back to back, and paced)
// on a log time axis, and join time against history size.

import type { Kind } from './protocol.js'
import { LABELS, type Results } from './results.js'

const COLORS: Record<Kind, string> = {
  backspace: '#d62728',
  cabal: '#1f77b4',
  'cabal-ram': '#aec7e8',
  ws: '#2ca02c',
  hypercore: '#9467bd',
  'hypercore-encrypted': '#8c564b',
  swarm: '#7f7f7f'
}

const W = 1140
const H = 400
const PANEL_W = 300
const PANEL_H = 250
const TOP = 50
const LEFT = [60, 450, 820]

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const fmt = (v: number) => (v >= 1000 ? `${v / 1000}k` : v >= 1 ? String(v) : String(v))

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e)
  return out.filter((t) => t >= lo / 1.0001 && t <= hi * 1.0001)
}

interface Series {
  kind: Kind
  points: Array<[number, number]>
}

function panel(
  x0: number,
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  xLog: boolean,
  yLog: boolean,
  yPercent: boolean
): string {
  const out: string[] = []
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP - 14}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`)
  out.push(`<rect x="${x0}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`)
  if (all.length === 0) {
    out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP + PANEL_H / 2}" text-anchor="middle" fill="#999">not measured</text>`)
    return out.join('\n')
  }
  const xs = all.map((p) => p[0])
  const ys = all.map((p) => p[1])
  let xlo = Math.min(...xs)
  let xhi = Math.max(...xs)
  let ylo = yPercent ? 0 : Math.min(...ys)
  let yhi = yPercent ? 100 : Math.max(...ys)
  if (xLog) {
    xlo = 10 ** Math.floor(Math.log10(Math.max(xlo, 1e-3)))
    xhi = 10 ** Math.ceil(Math.log10(Math.max(xhi, xlo * 10)))
  }
  if (yLog) {
    ylo = 10 ** Math.floor(Math.log10(Math.max(ylo, 1e-3)))
    yhi = 10 ** Math.ceil(Math.log10(Math.max(yhi, ylo * 10)))
  } else if (!yPercent) {
    ylo = 0
    yhi = yhi * 1.1
  }
  const sx = (v: number) =>
    x0 + (xLog ? (Math.log10(v) - Math.log10(xlo)) / (Math.log10(xhi) - Math.log10(xlo)) : (v - xlo) / (xhi - xlo || 1)) * PANEL_W
  const sy = (v: number) =>
    TOP + PANEL_H - (yLog ? (Math.log10(v) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo)) : (v - ylo) / (yhi - ylo || 1)) * PANEL_H

  const xt = xLog ? logTicks(xlo, xhi) : [...new Set(xs)].sort((a, b) => a - b)
  for (const t of xt) {
    const x = sx(t).toFixed(1)
    out.push(`<line x1="${x}" y1="${TOP}" x2="${x}" y2="${TOP + PANEL_H}" stroke="#eee"/>`)
    out.push(`<text x="${x}" y="${TOP + PANEL_H + 16}" text-anchor="middle" font-size="11">${fmt(t)}</text>`)
  }
  const yt = yPercent ? [0, 25, 50, 75, 90, 99] : yLog ? logTicks(ylo, yhi) : [ylo, (ylo + yhi) / 2, yhi]
  for (const t of yt) {
    const y = sy(t).toFixed(1)
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + PANEL_W}" y2="${y}" stroke="#eee"/>`)
    out.push(`<text x="${x0 - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">${yPercent ? `${t}%` : fmt(Number(t.toPrecision(2)))}</text>`)
  }
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP + PANEL_H + 34}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`)
  out.push(
    `<text transform="translate(${x0 - 44},${TOP + PANEL_H / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`
  )
  for (const s of series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!xLog || x > 0) && (!yLog || y > 0))
    if (pts.length === 0) continue
    const d = pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${COLORS[s.kind]}" stroke-width="2"/>`)
    if (pts.length <= 6) {
      for (const [x, y] of pts) {
        out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${COLORS[s.kind]}"/>`)
      }
    }
  }
  return out.join('\n')
}

function cdfSeries(fig: Results['latency']['backToBack']): Series[] {
  return (Object.keys(fig) as Kind[]).map((kind) => ({
    kind,
    points: fig[kind]!.cdf.map((ms, p) => [Math.max(ms, 1e-3), p] as [number, number])
  }))
}

export function renderChart(r: Results): string {
  const joinSeries: Series[] = (Object.keys(r.join) as Kind[]).map((kind) => ({
    kind,
    points: Object.entries(r.join[kind]!)
      .map(([h, f]) => [Number(h), f.median.ms] as [number, number])
      .sort((a, b) => a[0] - b[0])
  }))
  const kinds = [
    ...new Set([
      ...(Object.keys(r.latency.backToBack) as Kind[]),
      ...(Object.keys(r.join) as Kind[])
    ])
  ]
  let at = 60
  let row = 0
  const legend = kinds
    .map((k) => {
      const width = 34 + LABELS[k].length * 6.6
      if (at + width > W - 20) {
        at = 60
        row++
      }
      const x = at
      const y = H - 44 + row * 20
      at += width
      return (
        `<rect x="${x}" y="${y - 6}" width="14" height="4" fill="${COLORS[k]}"/>` +
        `<text x="${x + 20}" y="${y}" font-size="12">${esc(LABELS[k])}</text>`
      )
    })
    .join('\n')
  const body = [
    panel(LEFT[0]!, 'Delivery latency CDF, back to back', 'ms (log)', '% of messages', cdfSeries(r.latency.backToBack), true, false, true),
    panel(LEFT[1]!, `Delivery latency CDF, paced ${r.config.paceMs} ms`, 'ms (log)', '% of messages', cdfSeries(r.latency.paced), true, false, true),
    panel(LEFT[2]!, `Join: latest ${r.config.page} shown`, 'messages in the room (log)', 'ms (log)', joinSeries, true, true, false)
  ]
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    ...body,
    legend,
    `<text x="${W - 10}" y="14" text-anchor="end" font-size="10" fill="#666">${esc(`${r.machine.cores} × ${r.machine.cpu}, Node ${r.machine.node}, ${r.date.slice(0, 10)}, median of ${r.config.reps}`)}</text>`,
    '</svg>',
    ''
  ].join('\n')
}

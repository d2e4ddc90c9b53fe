import type { ArchitectureModel, RegionModel } from './model';

/**
 * A small dependency-free SVG renderer for the architecture model: a left-to-right flow
 * users → Route 53 → CloudFront + WAF → one panel per region (ALB → fleets → cache / database / queues →
 * workers). Layout is by columns and rows with sizes computed from the text, so labels never overlap.
 */

const FONT = 'Helvetica, Arial, sans-serif';
const CHAR_W = 7; // average width of a 12px character
const TITLE_CHAR_W = 7.8; // 13px bold
const LINE_H = 16;
const PAD = 10;
const GAP_X = 56; // room for arrows between columns
const GAP_Y = 14;
const MIN_BOX_W = 120;

type Kind = 'client' | 'dns' | 'edge' | 'lb' | 'fleet' | 'data' | 'queue' | 'worker';

const COLORS: Record<Kind, { fill: string; stroke: string }> = {
  client: { fill: '#f5f5f5', stroke: '#757575' },
  dns: { fill: '#ede7f6', stroke: '#5e35b1' },
  edge: { fill: '#e3f2fd', stroke: '#1e88e5' },
  lb: { fill: '#e8f5e9', stroke: '#43a047' },
  fleet: { fill: '#fff3e0', stroke: '#fb8c00' },
  data: { fill: '#e1f5fe', stroke: '#0277bd' },
  queue: { fill: '#fce4ec', stroke: '#d81b60' },
  worker: { fill: '#fff8e1', stroke: '#f9a825' },
};

/** A box to draw: title in bold, then lines. */
export interface Box {
  readonly kind: Kind;
  readonly title: string;
  readonly lines: string[];
  x: number;
  y: number;
  w: number;
  readonly h: number;
}

function box(kind: Kind, title: string, lines: string[], minW = MIN_BOX_W): Box {
  const w = Math.max(minW, Math.ceil(Math.max(title.length * TITLE_CHAR_W, ...lines.map((l) => l.length * CHAR_W)) + 2 * PAD));
  return { kind, title, lines, x: 0, y: 0, w, h: PAD + LINE_H + lines.length * LINE_H + PAD - 2 };
}

/** Escapes text for SVG. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The boxes of one region, by column: load balancer, fleets, data stores, workers. */
function regionColumns(r: RegionModel): Box[][] {
  const lb = r.loadBalancers ? [box('lb', 'Application Load Balancer', [plural(r.webFleets.length, 'service'), 'HTTPS, path/host rules'])] : [];
  const fleets = r.webFleets.map((f) => box('fleet', `${f} fleet`, ['EC2 Auto Scaling', 'stateless clones']));
  const data: Box[] = [];
  if (r.cache) data.push(box('data', 'ElastiCache', [plural(r.cache.groups, 'replication group'), plural(r.cache.shards, 'shard')]));
  if (r.database) data.push(box('data', 'Aurora', [`${plural(r.database.clusters, 'cluster')}, ${plural(r.database.instances, 'instance')}`, ...(r.database.global ? ['global database'] : [])]));
  if (r.queues.length || r.deadLetterQueues) data.push(box('queue', 'SQS', [plural(r.queues.length, 'queue'), ...r.queues.slice(0, 3), `${plural(r.deadLetterQueues, 'dead-letter queue')}`]));
  const workers = r.workerFleets.map((f) => box('worker', `${f} workers`, ['EC2 Auto Scaling', 'scales on backlog']));
  return [lb, fleets, data, workers];
}

interface Panel {
  readonly region: RegionModel;
  readonly columns: Box[][];
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Renders the model as an SVG document. */
export function renderSvg(model: ArchitectureModel): string {
  const out: string[] = [];
  const arrows: string[] = [];
  const margin = 24;
  const top = 86;

  // Region panels: common column widths so the panels line up.
  const panels: Panel[] = model.regions.map((region) => ({ region, columns: regionColumns(region), x: 0, y: 0, w: 0, h: 0 }));
  const colW = [0, 1, 2, 3].map((c) => Math.max(0, ...panels.flatMap((p) => p.columns[c].map((b) => b.w))));
  const used = colW.map((w) => w > 0);
  const colH = (col: Box[]) => col.reduce((h, b) => h + b.h, 0) + Math.max(0, col.length - 1) * GAP_Y;
  const panelHeader = 48;
  for (const p of panels) p.h = panelHeader + Math.max(40, ...p.columns.map(colH)) + 2 * PAD;
  const innerW = colW.reduce((s, w, i) => s + (used[i] ? w + GAP_X : 0), 0) - GAP_X;
  const panelW = Math.max(innerW + 2 * PAD + 12, 300);
  const regionsH = panels.reduce((h, p) => h + p.h, 0) + Math.max(0, panels.length - 1) * 20;

  // Left columns: users, DNS, edge.
  const users = box('client', 'Users', ['browsers, apps'], 100);
  const dns = model.dnsNames.length
    ? box('dns', 'Route 53', [`${model.routing} routing`, ...model.dnsNames, `${plural(model.regions.reduce((n, r) => n + r.healthChecks, 0), 'health check')}`])
    : undefined;
  const edgeBox = model.edge && model.edge.distributions > 0
    ? box('edge', model.edge.webAcls > 0 ? 'CloudFront + WAF' : 'CloudFront', [...(model.edge.buckets ? ['static assets (S3)'] : []), 'dynamic: regional ALBs', `stack ${model.edge.stack}`])
    : undefined;
  const left = [users, ...(dns ? [dns] : []), ...(edgeBox ? [edgeBox] : [])];
  const contentH = Math.max(regionsH, ...left.map((b) => b.h));
  let x = margin;
  for (const b of left) {
    b.x = x;
    b.y = top + (contentH - b.h) / 2;
    x += b.w + GAP_X;
  }
  const panelX = x;

  let y = top + (contentH - regionsH) / 2;
  for (const p of panels) {
    p.x = panelX;
    p.y = y;
    p.w = panelW;
    y += p.h + 20;
    // place the boxes: each used column centred vertically in the panel body
    let cx = p.x + PAD + 6;
    const bodyTop = p.y + panelHeader;
    const bodyH = p.h - panelHeader - PAD;
    p.columns.forEach((col, c) => {
      if (!used[c]) return;
      let by = bodyTop + (bodyH - colH(col)) / 2;
      for (const b of col) {
        b.w = colW[c];
        b.x = cx;
        b.y = by;
        by += b.h + GAP_Y;
      }
      cx += colW[c] + GAP_X;
    });
  }

  const width = Math.ceil(panelX + panelW + margin);
  const height = Math.ceil(top + contentH + 60);

  // Arrows: the request path.
  const mid = (b: Box) => ({ l: { x: b.x, y: b.y + b.h / 2 }, r: { x: b.x + b.w, y: b.y + b.h / 2 } });
  const arrow = (from: { x: number; y: number }, to: { x: number; y: number }, dashed = false) =>
    arrows.push(`<path d="M${r1(from.x)},${r1(from.y)} L${r1(to.x)},${r1(to.y)}" class="arrow${dashed ? ' dashed' : ''}" marker-end="url(#head)"/>`);
  for (let i = 0; i + 1 < left.length; i++) arrow(mid(left[i]).r, mid(left[i + 1]).l);
  const entry = left[left.length - 1];
  for (const p of panels) {
    const [lbs, fleets, data, workers] = p.columns;
    const lb = lbs[0];
    if (lb) arrow(mid(entry).r, mid(lb).l);
    if (lb) for (const f of fleets) arrow(mid(lb).r, mid(f).l);
    if (fleets.length && data.length) {
      // a bus between the fleets and the data stores instead of every fleet-store pair
      const busX = Math.max(...fleets.map((f) => f.x + f.w)) + GAP_X / 2;
      const ys = [...fleets, ...data].map((b) => b.y + b.h / 2);
      for (const f of fleets) arrows.push(`<path d="M${r1(f.x + f.w)},${r1(f.y + f.h / 2)} L${r1(busX)},${r1(f.y + f.h / 2)}" class="arrow"/>`);
      arrows.push(`<path d="M${r1(busX)},${r1(Math.min(...ys))} L${r1(busX)},${r1(Math.max(...ys))}" class="arrow"/>`);
      for (const d of data) arrow({ x: busX, y: d.y + d.h / 2 }, mid(d).l);
    }
    const queue = data.find((d) => d.kind === 'queue');
    if (queue) for (const w of workers) arrow(mid(queue).r, mid(w).l);
  }

  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="12">`);
  out.push(`<title>${escapeXml(`${model.name}: architecture`)}</title>`);
  out.push('<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#546e7a"/></marker>');
  out.push('<style>.arrow{fill:none;stroke:#546e7a;stroke-width:1.4}.dashed{stroke-dasharray:5 4}.title{font-weight:bold;font-size:13px}.muted{fill:#546e7a}</style></defs>');
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${margin}" y="34" font-size="20" font-weight="bold">${escapeXml(`${model.name}: architecture`)}</text>`);
  const summary = `${plural(model.regions.length, 'region')}, ${model.routing} routing${model.edge?.distributions ? ', CloudFront + WAF at the edge' : ''}; generated from the synthesized app by npm run diagram`;
  out.push(`<text x="${margin}" y="56" class="muted">${escapeXml(summary)}</text>`);

  for (const p of panels) {
    const r = p.region;
    out.push(`<rect x="${r1(p.x)}" y="${r1(p.y)}" width="${r1(p.w)}" height="${r1(p.h)}" rx="10" fill="#fafafa" stroke="#90a4ae" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${r1(p.x + PAD + 6)}" y="${r1(p.y + 20)}" class="title">${escapeXml(`${r.region}${r.primary ? ' (primary)' : ''}`)}</text>`);
    const sub = `stacks: ${r.stacks.join(', ')} | VPC: ${plural(r.subnets, 'subnet')}, ${plural(r.natGateways, 'NAT gateway')}`;
    out.push(`<text x="${r1(p.x + PAD + 6)}" y="${r1(p.y + 37)}" class="muted">${escapeXml(sub)}</text>`);
  }
  out.push(...arrows);
  for (const b of [...left, ...panels.flatMap((p) => p.columns.flat())]) out.push(drawBox(b));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function drawBox(b: Box): string {
  const c = COLORS[b.kind];
  const parts = [`<g><rect x="${r1(b.x)}" y="${r1(b.y)}" width="${b.w}" height="${b.h}" rx="6" fill="${c.fill}" stroke="${c.stroke}" stroke-width="1.5"/>`];
  parts.push(`<text x="${r1(b.x + PAD)}" y="${r1(b.y + PAD + 12)}" class="title">${escapeXml(b.title)}</text>`);
  b.lines.forEach((l, i) => parts.push(`<text x="${r1(b.x + PAD)}" y="${r1(b.y + PAD + 12 + (i + 1) * LINE_H)}">${escapeXml(l)}</text>`));
  parts.push('</g>');
  return parts.join('');
}

function r1(n: number): string {
  return String(Math.round(n * 10) / 10);
}

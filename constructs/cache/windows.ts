/** Maintenance and snapshot windows: parsing and the overlap check ElastiCache would only report at deploy. */

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEK = 7 * 24 * 60;
const DAY = 24 * 60;
const MAINTENANCE = /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)$/;
const SNAPSHOT = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** A window as [start, end) minutes; `end` may exceed the period when it wraps. */
interface Span { readonly start: number; readonly end: number }

/** Parses `ddd:hh:mm-ddd:hh:mm` into minutes of the week; undefined when malformed. */
export function parseMaintenanceWindow(w: string): Span | undefined {
  const m = MAINTENANCE.exec(w);
  if (!m) return undefined;
  const start = DAYS.indexOf(m[1]) * DAY + Number(m[2]) * 60 + Number(m[3]);
  let end = DAYS.indexOf(m[4]) * DAY + Number(m[5]) * 60 + Number(m[6]);
  if (end <= start) end += WEEK;
  return { start, end };
}

/** Parses `hh:mm-hh:mm` into minutes of the day; undefined when malformed. */
export function parseSnapshotWindow(w: string): Span | undefined {
  const m = SNAPSHOT.exec(w);
  if (!m) return undefined;
  const start = Number(m[1]) * 60 + Number(m[2]);
  let end = Number(m[3]) * 60 + Number(m[4]);
  if (end <= start) end += DAY;
  return { start, end };
}

/**
 * Problems with a pair of windows, as messages naming the window: malformed, shorter than 60 minutes,
 * maintenance longer than 24 hours, or the daily snapshot window overlapping the weekly maintenance window.
 */
export function windowProblems(maintenance: string, snapshot: string): Array<{ window: 'maintenanceWindow' | 'snapshotWindow'; message: string }> {
  const out: Array<{ window: 'maintenanceWindow' | 'snapshotWindow'; message: string }> = [];
  const mw = parseMaintenanceWindow(maintenance);
  const sw = parseSnapshotWindow(snapshot);
  if (!mw) out.push({ window: 'maintenanceWindow', message: 'must look like ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00' });
  else if (mw.end - mw.start < 60) out.push({ window: 'maintenanceWindow', message: 'must be at least 60 minutes long' });
  else if (mw.end - mw.start > DAY) out.push({ window: 'maintenanceWindow', message: 'must be at most 24 hours long' });
  if (!sw) out.push({ window: 'snapshotWindow', message: 'must look like hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00' });
  else if (sw.end - sw.start < 60) out.push({ window: 'snapshotWindow', message: 'must be at least 60 minutes long' });
  if (out.length === 0 && mw && sw && windowsOverlap(mw, sw)) {
    out.push({ window: 'snapshotWindow', message: `must not overlap the maintenance window ${maintenance}` });
  }
  return out;
}

function windowsOverlap(mw: Span, sw: Span): boolean {
  // The snapshot window repeats daily: test each day's occurrence (and the wrapped week) against maintenance.
  for (let day = -1; day <= 7; day++) {
    const s = day * DAY + sw.start;
    const e = day * DAY + sw.end;
    for (const shift of [-WEEK, 0, WEEK]) {
      if (s < mw.end + shift && mw.start + shift < e) return true;
    }
  }
  return false;
}

import type { RefreshClock } from '../../../lib/runtime/refresh-loop';

/** A clock whose time and timers only move when the test says so. */
export class ManualClock implements RefreshClock {
  public time = 1_000_000;
  public readonly delays: number[] = [];
  private timers: { id: number; at: number; callback: () => void }[] = [];
  private nextId = 1;

  public now(): number {
    return this.time;
  }
  public setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.delays.push(delayMs);
    this.timers.push({ id, at: this.time + delayMs, callback });
    return id;
  }
  public clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  public get pending(): number {
    return this.timers.length;
  }
  /** Moves time forward and runs the timers that became due. */
  public advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.callback();
  }
}

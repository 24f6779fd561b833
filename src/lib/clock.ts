// One clock for the whole app. Outside production, the admin API moves it so that
// lifecycle rules can be observed from outside; it keeps ticking from where it was set.
import { calendarDateAt, type CalendarDate } from './dates.js';

export interface Clock {
  now(): Date;
}

export class AdjustableClock implements Clock {
  private offsetMs = 0;
  constructor(private readonly base: () => number = Date.now) {}
  now(): Date {
    return new Date(this.base() + this.offsetMs);
  }
  /** Moves the clock so that now() is `instant`; null returns to real time. */
  set(instant: Date | null): void {
    this.offsetMs = instant ? instant.getTime() - this.base() : 0;
  }
  get adjusted(): boolean {
    return this.offsetMs !== 0;
  }
  get offset(): number {
    return this.offsetMs;
  }
  setOffset(ms: number): void {
    this.offsetMs = ms;
  }
}

export function today(clock: Clock, tz: string): CalendarDate {
  return calendarDateAt(clock.now(), tz);
}

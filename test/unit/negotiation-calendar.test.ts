// The dayjs-free calendar helpers the negotiation engine uses must agree with the dayjs
// ones in src/lib/dates.ts on every real date.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  addCalendarMonths,
  addDays,
  addMonths,
  calendarDaysBetween,
  dateFromEpochDay,
  daysBetween,
  epochDay,
} from '../../src/lib/dates.js';

const realDate = fc
  .date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2999, 11, 31)), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

describe('pure calendar helpers', () => {
  it('epochDay of known dates', () => {
    expect(epochDay('1970-01-01')).toBe(0);
    expect(epochDay('1970-01-02')).toBe(1);
    expect(epochDay('1969-12-31')).toBe(-1);
    expect(epochDay('2000-03-01') - epochDay('2000-02-28')).toBe(2); // 2000 is a leap year
    expect(epochDay('1900-03-01') - epochDay('1900-02-28')).toBe(1); // 1900 is not
    expect(epochDay('2028-03-01') - epochDay('2028-02-28')).toBe(2);
    expect(dateFromEpochDay(epochDay('2028-02-29'))).toBe('2028-02-29');
  });

  it('addCalendarMonths clamps to the month end, counting from the start date', () => {
    expect(addCalendarMonths('2028-01-31', 1)).toBe('2028-02-29');
    expect(addCalendarMonths('2028-01-31', 2)).toBe('2028-03-31');
    expect(addCalendarMonths('2027-01-31', 1)).toBe('2027-02-28');
    expect(addCalendarMonths('2026-10-31', 4)).toBe('2027-02-28');
    expect(addCalendarMonths('2026-12-15', 1)).toBe('2027-01-15');
    expect(addCalendarMonths('2026-01-15', -1)).toBe('2025-12-15');
    expect(addCalendarMonths('2026-03-31', -1)).toBe('2026-02-28');
    expect(addCalendarMonths('2026-05-05', 0)).toBe('2026-05-05');
  });

  it('refuses impossible or malformed dates instead of rolling over', () => {
    for (const bad of ['2026-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '26-01-01', '2026-1-01', '2026/01/01', '']) {
      expect(() => epochDay(bad), bad).toThrow(RangeError);
      expect(() => addCalendarMonths(bad, 1), bad).toThrow(RangeError);
    }
  });

  it('agrees with dayjs daysBetween', () => {
    fc.assert(
      fc.property(realDate, realDate, (a, b) => {
        expect(calendarDaysBetween(a, b)).toBe(daysBetween(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with dayjs addMonths and addDays', () => {
    fc.assert(
      fc.property(realDate, fc.integer({ min: -120, max: 120 }), fc.integer({ min: -3000, max: 3000 }), (d, m, days) => {
        const months = addMonths(d, m);
        if (months >= '1900' && months < '3000') expect(addCalendarMonths(d, m)).toBe(months);
        const shifted = addDays(d, days);
        if (shifted >= '1900' && shifted < '3000') expect(dateFromEpochDay(epochDay(d) + days)).toBe(shifted);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with dayjs on every month end of 2024–2030', () => {
    for (let y = 2024; y <= 2030; y++) {
      for (let m = 1; m <= 12; m++) {
        for (const day of [28, 29, 30, 31]) {
          const date = `${y}-${String(m).padStart(2, '0')}-${day}`;
          if (dateFromEpochDay(epochDay(`${y}-${String(m).padStart(2, '0')}-01`) + day - 1) !== date) continue;
          for (let k = 0; k <= 72; k++) expect(addCalendarMonths(date, k)).toBe(addMonths(date, k));
        }
      }
    }
  });
});

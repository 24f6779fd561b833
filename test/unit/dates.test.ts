// Calendar dates on the business calendar. Oracles are computed independently: Date.UTC for
// day arithmetic and Intl.DateTimeFormat for the date of an instant on a zone's calendar.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdjustableClock, today } from '../../src/lib/clock.js';
import {
  addDays,
  addMonths,
  addYears,
  calendarDateAt,
  daysBetween,
  formatDateBR,
  isValidTimeZone,
  parseIsoDate,
  parseSpreadsheetDate,
  startOfDayAt,
} from '../../src/lib/dates.js';

const SP = 'America/Sao_Paulo';
const DAY_MS = 86_400_000;

function intlDate(instant: Date, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

const utcDay = (date: string) => Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

const realDate = fc
  .date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2999, 11, 31)), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

describe('parseIsoDate and parseSpreadsheetDate', () => {
  it('accept real dates in both spreadsheet forms', () => {
    expect(parseIsoDate('2026-11-23')).toBe('2026-11-23');
    expect(parseSpreadsheetDate('2026-11-23')).toBe('2026-11-23');
    expect(parseSpreadsheetDate('23/11/2026')).toBe('2026-11-23');
    expect(parseSpreadsheetDate('01/01/2000')).toBe('2000-01-01');
    expect(parseSpreadsheetDate('31/12/1999')).toBe('1999-12-31');
    expect(parseSpreadsheetDate(' 05/03/2026 ')).toBe('2026-03-05');
    expect(parseIsoDate('2026-04-30')).toBe('2026-04-30');
  });

  it('take 29 February in leap years only', () => {
    for (const year of [1904, 2000, 2024, 2028, 2400]) {
      expect(parseIsoDate(`${year}-02-29`), String(year)).toBe(`${year}-02-29`);
      expect(parseSpreadsheetDate(`29/02/${year}`), String(year)).toBe(`${year}-02-29`);
    }
    for (const year of [1900, 2023, 2025, 2026, 2100, 2200]) {
      expect(parseIsoDate(`${year}-02-29`), String(year)).toBeNull();
      expect(parseSpreadsheetDate(`29/02/${year}`), String(year)).toBeNull();
    }
  });

  it('refuse dates that do not exist', () => {
    for (const bad of ['2026-02-30', '2026-04-31', '2026-06-31', '2026-09-31', '2026-11-31', '2026-13-01', '2026-00-10', '2026-01-00', '2026-01-32']) {
      expect(parseIsoDate(bad), bad).toBeNull();
      expect(parseSpreadsheetDate(bad), bad).toBeNull();
    }
    for (const bad of ['30/02/2026', '31/04/2026', '00/01/2026', '32/01/2026', '15/13/2026', '15/00/2026']) {
      expect(parseSpreadsheetDate(bad), bad).toBeNull();
    }
  });

  it('refuse other shapes', () => {
    for (const bad of [
      '',
      '2026-1-05',
      '2026-01-5',
      '26-01-05',
      '20260105',
      '2026/01/05',
      '2026-01-05T00:00:00Z',
      '2026-01-05 ',
      '1/2/2026',
      '01/02/26',
      '01-02-2026',
      '01.02.2026',
      '12/31/2026', // month-first is not a Brazilian date
      '２０２６-01-05',
      'yesterday',
    ]) {
      if (bad.trim() !== '2026-01-05') expect(parseSpreadsheetDate(bad), bad).toBeNull();
    }
    expect(parseIsoDate('23/11/2026')).toBeNull();
  });

  it('keep years within 1900–2999', () => {
    expect(parseIsoDate('1899-12-31')).toBeNull();
    expect(parseIsoDate('1900-01-01')).toBe('1900-01-01');
    expect(parseIsoDate('2999-12-31')).toBe('2999-12-31');
    expect(parseIsoDate('3000-01-01')).toBeNull();
    expect(parseIsoDate('0000-01-01')).toBeNull();
  });

  it('agree with the Gregorian calendar on every day of the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1900, max: 2999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
        const days = [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
        const iso = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        const br = `${String(d).padStart(2, '0')}/${String(m).padStart(2, '0')}/${y}`;
        const expected = d <= days ? iso : null;
        expect(parseIsoDate(iso)).toBe(expected);
        expect(parseSpreadsheetDate(iso)).toBe(expected);
        expect(parseSpreadsheetDate(br)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throw', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
        parseIsoDate(s);
        parseSpreadsheetDate(s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('daysBetween', () => {
  it('counts calendar days across the Brazilian daylight-saving changes', () => {
    // DST began at 00:00 on 4 Nov 2018 (that midnight never happened) and ended at 00:00
    // on 17 Feb 2019 (23:00–23:59 of 16 Feb happened twice); it was abolished in 2019.
    expect(daysBetween('2018-11-03', '2018-11-04')).toBe(1);
    expect(daysBetween('2018-11-03', '2018-11-05')).toBe(2);
    expect(daysBetween('2018-11-04', '2018-11-05')).toBe(1);
    expect(daysBetween('2019-02-16', '2019-02-17')).toBe(1);
    expect(daysBetween('2019-02-16', '2019-02-18')).toBe(2);
    expect(daysBetween('2018-11-01', '2019-03-01')).toBe(120);
    expect(daysBetween('2017-10-14', '2017-10-16')).toBe(2);
    expect(daysBetween('2019-03-01', '2018-11-01')).toBe(-120);
    expect(daysBetween('2026-11-23', '2026-11-23')).toBe(0);
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
    expect(daysBetween('2025-02-28', '2025-03-01')).toBe(1);
    expect(daysBetween('1900-01-01', '2999-12-31')).toBe(401_766);
  });

  it('does not depend on the process time zone', () => {
    const saved = process.env.TZ;
    try {
      for (const tz of [SP, 'America/Noronha', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'UTC']) {
        process.env.TZ = tz;
        expect(daysBetween('2018-11-03', '2018-11-05'), tz).toBe(2);
        expect(daysBetween('2019-02-16', '2019-02-18'), tz).toBe(2);
        expect(addDays('2018-11-03', 1), tz).toBe('2018-11-04');
        expect(addMonths('2019-01-31', 1), tz).toBe('2019-02-28');
        expect(calendarDateAt(new Date('2026-11-23T02:30:00Z'), SP), tz).toBe('2026-11-22');
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('is the difference of the dates themselves, and inverts addDays', () => {
    fc.assert(
      fc.property(realDate, realDate, (a, b) => {
        expect(daysBetween(a, b)).toBe(utcDay(b) - utcDay(a));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(realDate, fc.integer({ min: -5000, max: 5000 }), (a, n) => {
        const b = addDays(a, n);
        expect(daysBetween(a, b)).toBe(n);
        expect(utcDay(b) - utcDay(a)).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('addMonths', () => {
  it('clamps to the month end when computed from the same base (31 Jan → 28/29 Feb → 31 Mar)', () => {
    expect(addMonths('2027-01-31', 1)).toBe('2027-02-28');
    expect(addMonths('2027-01-31', 2)).toBe('2027-03-31');
    expect(addMonths('2027-01-31', 3)).toBe('2027-04-30');
    expect(addMonths('2028-01-31', 1)).toBe('2028-02-29');
    expect(addMonths('2028-01-31', 2)).toBe('2028-03-31');
    expect(addMonths('2026-10-31', 4)).toBe('2027-02-28');
    expect(addMonths('2026-08-31', 1)).toBe('2026-09-30');
    expect(addMonths('2026-12-31', 2)).toBe('2027-02-28');
    expect(addMonths('2026-11-23', 1)).toBe('2026-12-23');
    expect(addMonths('2026-11-23', 2)).toBe('2027-01-23');
    expect(addMonths('2026-03-31', -1)).toBe('2026-02-28');
    expect(addMonths('2026-05-05', 0)).toBe('2026-05-05');
    expect(addMonths('2024-02-29', 12)).toBe('2025-02-28');
    expect(addMonths('2024-02-29', 48)).toBe('2028-02-29');
    // Chaining loses the day: the parcels are always computed from parcel 1's date.
    expect(addMonths(addMonths('2027-01-31', 1), 1)).toBe('2027-03-28');
  });

  it('keeps the day of month, or the month’s last day where it does not exist', () => {
    fc.assert(
      fc.property(realDate.filter((d) => d < '2990-01-01'), fc.integer({ min: -100, max: 100 }), (date, months) => {
        const [y, m, d] = [Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10))];
        const index = y * 12 + (m - 1) + months;
        const ty = Math.floor(index / 12);
        const tm = index - ty * 12 + 1;
        const last = new Date(Date.UTC(ty, tm, 0)).getUTCDate();
        const expected = `${ty}-${String(tm).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
        expect(addMonths(date, months)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('addYears moves 29 Feb to 28 Feb in common years', () => {
    expect(addYears('2024-02-29', 1)).toBe('2025-02-28');
    expect(addYears('2024-02-29', 4)).toBe('2028-02-29');
    expect(addYears('2026-11-23', -5)).toBe('2021-11-23');
  });
});

describe('calendarDateAt', () => {
  it('answers the São Paulo date around midnight', () => {
    expect(calendarDateAt(new Date('2026-11-23T02:30:00Z'), SP)).toBe('2026-11-22');
    expect(calendarDateAt(new Date('2026-11-23T02:59:59.999Z'), SP)).toBe('2026-11-22');
    expect(calendarDateAt(new Date('2026-11-23T03:00:00Z'), SP)).toBe('2026-11-23');
    expect(calendarDateAt(new Date('2026-11-24T02:59:59.999Z'), SP)).toBe('2026-11-23');
    expect(calendarDateAt(new Date('2026-12-31T23:30:00-03:00'), SP)).toBe('2026-12-31');
    expect(calendarDateAt(new Date('2027-01-01T02:59:00Z'), SP)).toBe('2026-12-31');
    expect(calendarDateAt(new Date('2027-01-01T03:00:00Z'), SP)).toBe('2027-01-01');
    expect(calendarDateAt(new Date('2026-11-23T02:30:00Z'), 'UTC')).toBe('2026-11-23');
    expect(calendarDateAt(new Date('2026-11-23T01:30:00Z'), 'America/Noronha')).toBe('2026-11-22');
    expect(calendarDateAt(new Date('2026-11-23T02:30:00Z'), 'America/Noronha')).toBe('2026-11-23');
    expect(calendarDateAt(new Date('2026-11-23T03:30:00Z'), 'America/Manaus')).toBe('2026-11-22');
    expect(calendarDateAt(new Date('2026-11-23T03:30:00Z'), 'America/Rio_Branco')).toBe('2026-11-22');
    expect(calendarDateAt(new Date('2026-11-23T05:00:00Z'), 'America/Rio_Branco')).toBe('2026-11-23');
  });

  it('follows the 2018/2019 daylight-saving changes in São Paulo', () => {
    // 3 Nov 2018 23:59:59 −03 is the last instant of 3 Nov; the next is 4 Nov 01:00 −02.
    expect(calendarDateAt(new Date('2018-11-04T02:59:59.999Z'), SP)).toBe('2018-11-03');
    expect(calendarDateAt(new Date('2018-11-04T03:00:00Z'), SP)).toBe('2018-11-04');
    // During DST midnight was 02:00Z.
    expect(calendarDateAt(new Date('2019-01-15T01:59:59Z'), SP)).toBe('2019-01-14');
    expect(calendarDateAt(new Date('2019-01-15T02:00:00Z'), SP)).toBe('2019-01-15');
    // 17 Feb 2019 00:00 −02 became 16 Feb 23:00 −03: 16 Feb lasted until 03:00Z.
    expect(calendarDateAt(new Date('2019-02-17T01:59:59Z'), SP)).toBe('2019-02-16');
    expect(calendarDateAt(new Date('2019-02-17T02:30:00Z'), SP)).toBe('2019-02-16');
    expect(calendarDateAt(new Date('2019-02-17T02:59:59.999Z'), SP)).toBe('2019-02-16');
    expect(calendarDateAt(new Date('2019-02-17T03:00:00Z'), SP)).toBe('2019-02-17');
    // No DST in November 2019 any more.
    expect(calendarDateAt(new Date('2019-11-04T02:30:00Z'), SP)).toBe('2019-11-03');
  });

  it('agrees with Intl on any instant and zone', () => {
    const zones = fc.constantFrom(SP, 'America/Noronha', 'America/Manaus', 'America/Rio_Branco', 'UTC', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Havana');
    const instant = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(instant, zones, (at, tz) => {
        expect(calendarDateAt(at, tz)).toBe(intlDate(at, tz));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('startOfDayAt', () => {
  it('is the first instant of the calendar date, even when midnight is skipped or repeated', () => {
    expect(startOfDayAt('2026-11-23', SP).toISOString()).toBe('2026-11-23T03:00:00.000Z');
    expect(startOfDayAt('2018-11-04', SP).toISOString()).toBe('2018-11-04T03:00:00.000Z'); // 01:00 −02
    expect(startOfDayAt('2019-02-16', SP).toISOString()).toBe('2019-02-16T02:00:00.000Z');
    expect(startOfDayAt('2019-02-17', SP).toISOString()).toBe('2019-02-17T03:00:00.000Z');
    // Havana ended DST at 01:00 back to 00:00: 5 Nov 2023 began at 00:00 −04, 04:00Z.
    expect(startOfDayAt('2023-11-05', 'America/Havana').toISOString()).toBe('2023-11-05T04:00:00.000Z');
  });

  it('starts the day on which it falls, the instant after the previous day ends', () => {
    const zones = fc.constantFrom(SP, 'America/Havana', 'America/Santiago', 'Asia/Beirut', 'Australia/Lord_Howe', 'UTC');
    const date = fc
      .date({ min: new Date(Date.UTC(1985, 0, 1)), max: new Date(Date.UTC(2035, 11, 31)), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    fc.assert(
      fc.property(date, zones, (d, tz) => {
        const start = startOfDayAt(d, tz);
        expect(intlDate(start, tz)).toBe(d);
        expect(intlDate(new Date(start.getTime() - 1), tz)).toBe(addDays(d, -1));
      }),
      { numRuns: 500 },
    );
    for (const [d, tz] of [
      ['2018-11-04', SP],
      ['2019-02-17', SP],
      ['2017-10-15', SP],
      ['2023-11-05', 'America/Havana'],
      ['2022-11-06', 'America/Havana'],
    ] as const) {
      const start = startOfDayAt(d, tz);
      expect(intlDate(start, tz), `${tz} ${d}`).toBe(d);
      expect(intlDate(new Date(start.getTime() - 1), tz), `${tz} ${d}`).toBe(addDays(d, -1));
    }
  });
});

describe('the clock and today', () => {
  it('today is the business-calendar date of the clock', () => {
    const clock = new AdjustableClock();
    clock.set(new Date('2026-11-23T02:30:00Z'));
    expect(today(clock, SP)).toBe('2026-11-22');
    expect(today(clock, 'UTC')).toBe('2026-11-23');
  });

  it('keeps ticking from where it was set, and returns to real time', () => {
    let real = Date.parse('2025-01-01T00:00:00Z');
    const clock = new AdjustableClock(() => real);
    expect(clock.adjusted).toBe(false);
    clock.set(new Date('2026-11-23T12:00:00Z'));
    expect(clock.adjusted).toBe(true);
    real += 90_000;
    expect(clock.now().toISOString()).toBe('2026-11-23T12:01:30.000Z');
    clock.set(null);
    expect(clock.adjusted).toBe(false);
    expect(clock.now().getTime()).toBe(real);
  });
});

describe('formatting and zones', () => {
  it('formats a date the Brazilian way', () => {
    expect(formatDateBR('2026-11-23')).toBe('23/11/2026');
    expect(formatDateBR('2027-01-05')).toBe('05/01/2027');
  });

  it('knows IANA time zones', () => {
    expect(isValidTimeZone(SP)).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Base')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
});

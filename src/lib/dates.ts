// Calendar dates are `YYYY-MM-DD` strings on the business calendar (TZ_BUSINESS);
// day counts are differences of calendar dates, never of instants.
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import timezone from 'dayjs/plugin/timezone.js';

dayjs.extend(utc);
dayjs.extend(timezone);

export type CalendarDate = string;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const BR_DATE = /^(\d{2})\/(\d{2})\/(\d{4})$/;

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || year < 1900 || year > 2999) return false;
  return day <= dayjs.utc(`${year}-${String(month).padStart(2, '0')}-01`).daysInMonth();
}

function build(year: number, month: number, day: number): CalendarDate | null {
  if (!isRealDate(year, month, day)) return null;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` only, a real date; null otherwise. */
export function parseIsoDate(input: string): CalendarDate | null {
  const m = ISO_DATE.exec(input.trim());
  return m ? build(Number(m[1]), Number(m[2]), Number(m[3])) : null;
}

/** `YYYY-MM-DD` or `DD/MM/YYYY`, a real date; null otherwise. */
export function parseSpreadsheetDate(input: string): CalendarDate | null {
  const text = input.trim();
  const iso = ISO_DATE.exec(text);
  if (iso) return build(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const br = BR_DATE.exec(text);
  if (br) return build(Number(br[3]), Number(br[2]), Number(br[1]));
  return null;
}

/** The calendar date of an instant on a time zone's calendar. */
export function calendarDateAt(instant: Date, tz: string): CalendarDate {
  // The same conversion dayjs's tz plugin makes, through one cached Intl formatter per
  // zone: dayjs builds a new one on every call (~50 µs), and every page asks for today.
  let formatter = DATE_FORMATTERS.get(tz);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    DATE_FORMATTERS.set(tz, formatter);
  }
  let year = '';
  let month = '';
  let day = '';
  for (const part of formatter.formatToParts(instant)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  return `${year.padStart(4, '0')}-${month}-${day}`;
}

const DATE_FORMATTERS = new Map<string, Intl.DateTimeFormat>();

/** `to − from` in calendar days. */
export function daysBetween(from: CalendarDate, to: CalendarDate): number {
  return dayjs.utc(to).diff(dayjs.utc(from), 'day');
}

export function addDays(date: CalendarDate, days: number): CalendarDate {
  return dayjs.utc(date).add(days, 'day').format('YYYY-MM-DD');
}

/** `months` calendar months later, on the month's last day where the day does not exist. */
export function addMonths(date: CalendarDate, months: number): CalendarDate {
  return dayjs.utc(date).add(months, 'month').format('YYYY-MM-DD');
}

export function addYears(date: CalendarDate, years: number): CalendarDate {
  return dayjs.utc(date).add(years, 'year').format('YYYY-MM-DD');
}

/** `23/11/2026` */
export function formatDateBR(date: CalendarDate): string {
  return `${date.slice(8, 10)}/${date.slice(5, 7)}/${date.slice(0, 4)}`;
}

/** The instant at which a calendar date starts on a time zone's calendar. */
export function startOfDayAt(date: CalendarDate, tz: string): Date {
  // dayjs answers the later midnight where a zone repeats one (Havana ends DST at 01:00
  // back to 00:00), so search back for the first instant still on `date`.
  let hi = dayjs.tz(date, tz).valueOf();
  if (calendarDateAt(new Date(hi - 1), tz) < date) return new Date(hi);
  let lo = hi - 26 * 3600 * 1000; // on an earlier date: no offset change spans a day
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (calendarDateAt(new Date(mid), tz) < date) lo = mid;
    else hi = mid;
  }
  return new Date(hi);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// Pure calendar arithmetic without dayjs, for hot loops (the negotiation engine). Proleptic
// Gregorian calendar; on real dates these agree with `daysBetween` and `addMonths` above
// (test/unit/negotiation-calendar.test.ts checks it). Unlike dayjs, an impossible date
// such as `2026-02-30` is refused with a RangeError instead of rolling over.

function daysInMonthOf(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** [year, month 1–12, day] of a real `YYYY-MM-DD` date; RangeError otherwise. */
export function dateParts(date: CalendarDate): [number, number, number] {
  if (typeof date !== 'string' || date.length !== 10 || date[4] !== '-' || date[7] !== '-') {
    throw new RangeError(`not a YYYY-MM-DD date: ${String(date)}`);
  }
  const year = digitsAt(date, 0, 4);
  const month = digitsAt(date, 5, 2);
  const day = digitsAt(date, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonthOf(year, month)) {
    throw new RangeError(`not a real date: ${date}`);
  }
  return [year, month, day];
}

/** Days from 1970-01-01 to a calendar date (negative before it). */
export function epochDay(date: CalendarDate): number {
  const [year, month, day] = dateParts(date);
  // Howard Hinnant's days_from_civil.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function formatParts(year: number, month: number, day: number): CalendarDate {
  return `${String(year).padStart(4, '0')}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}

/** The calendar date `days` days after 1970-01-01 (inverse of `epochDay`). */
export function dateFromEpochDay(days: number): CalendarDate {
  // Howard Hinnant's civil_from_days.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return formatParts(era * 400 + yoe + (month <= 2 ? 1 : 0), month, day);
}

/** `to − from` in calendar days, like `daysBetween`, without dayjs. */
export function calendarDaysBetween(from: CalendarDate, to: CalendarDate): number {
  return epochDay(to) - epochDay(from);
}

/** Like `addMonths` (same day, or the month's last day where it does not exist), without dayjs. */
export function addCalendarMonths(date: CalendarDate, months: number): CalendarDate {
  if (!Number.isInteger(months)) throw new RangeError(`months must be an integer: ${months}`);
  const [year, month, day] = dateParts(date);
  const index = year * 12 + (month - 1) + months;
  const newYear = Math.floor(index / 12);
  const newMonth = index - newYear * 12 + 1;
  return formatParts(newYear, newMonth, Math.min(day, daysInMonthOf(newYear, newMonth)));
}

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
  return dayjs(instant).tz(tz).format('YYYY-MM-DD');
}

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
  return dayjs.tz(date, tz).toDate();
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

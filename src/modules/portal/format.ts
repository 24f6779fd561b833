// Page formatting that the shared Handlebars helpers do not cover: percentages with a
// decimal comma and instants on the business calendar.

/** `1,99` for 1.99; `1.234,57` for 1234.567 (two decimals, half away from zero). */
export function formatPct(value: number): string {
  const rounded = Math.sign(value) * Math.round(Math.abs(value) * 100);
  const abs = Math.abs(rounded);
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  const text = `${whole},${String(abs % 100).padStart(2, '0')}`;
  return rounded < 0 ? `-${text}` : text;
}

const instantFormats = new Map<string, Intl.DateTimeFormat>();

/** `23/11/2026 às 14:05` on the business calendar. */
export function formatInstantBR(instant: Date, tz: string): string {
  let format = instantFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('pt-BR', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    instantFormats.set(tz, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return `${parts.day}/${parts.month}/${parts.year} às ${parts.hour}:${parts.minute}:${parts.second}`;
}

/*
 * Values printed the way Go's fmt prints them inside a text/template, so that NTH's webhook templates
 * and descriptions read the same from tnth. Plain code: workflows use it too.
 */

const isoPattern = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Go's `time.Time.String()`, layout `2006-01-02 15:04:05.999999999 -0700 MST`, of an ISO 8601 time as
 * NTH's `time.Parse(time.RFC3339, ...)` reads it: the wall clock in the time's own offset, the fraction
 * without trailing zeros (none when zero), `+0000 UTC` for `Z` (and for `+00:00`, as in NTH's image,
 * whose local zone is UTC), a fixed zone named by its offset otherwise (`+0200 +0200`). Anything else
 * is returned as it is.
 */
export function goTime(iso: string): string {
  const match = isoPattern.exec(iso);
  if (!match) return iso;
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match;
  const digits = fraction.slice(0, 9).replace(/0+$/, '');
  const offset = zone.toUpperCase() === 'Z' ? '+00:00' : zone;
  const numeric = offset.replace(':', '');
  const name = numeric === '+0000' || numeric === '-0000' ? 'UTC' : numeric;
  return `${year}-${month}-${day} ${hour}:${minute}:${second}${digits ? `.${digits}` : ''} ${numeric === '-0000' ? '+0000' : numeric} ${name}`;
}

/** Go's zero `time.Time`, as NTH prints a time it never set. */
export const goZeroTime = '0001-01-01 00:00:00 +0000 UTC';

/** Go's byte order, in which fmt prints a map's keys (not the locale's). */
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Go's `fmt.Sprint` of a template value: maps as `map[k:v]` (sorted keys), slices as `[a b]`. */
export function goText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return `[${value.map(goText).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => byteOrder(a, b));
    return `map[${entries.map(([k, v]) => `${k}:${goText(v)}`).join(' ')}]`;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

// Finding planted secrets in what tnth leaves behind: logs, histories, events, metrics.

/**
 * Any value as searchable text: JSON, with every byte array (a Temporal payload's data, a memo, a
 * search attribute, heartbeat details) decoded as UTF-8, so a secret inside a payload reads as itself.
 */
export function searchableText(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, replaced: unknown) {
    const raw = this[key];
    if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
    return typeof replaced === 'bigint' ? String(replaced) : replaced;
  });
}

/** Each `<secret> in <place>` where a place's text contains a secret's value; empty when none leaked. */
export function leaks(secrets: Record<string, string>, places: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [place, text] of Object.entries(places)) {
    for (const [secret, value] of Object.entries(secrets)) {
      const at = text.indexOf(value);
      if (at >= 0)
        found.push(`${secret} in ${place}: ...${text.slice(Math.max(0, at - 120), at + value.length + 40)}...`);
    }
  }
  return found;
}

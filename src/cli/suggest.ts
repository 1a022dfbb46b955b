/** "did you mean" for mistyped commands and options: the closest known name by edit distance. */

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = keep;
    }
  }
  return prev[b.length]!;
}

/** The known word closest to `word`, if it is close enough to be a typo (or `word` is a prefix of only it). */
export function closest(word: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((k) => k.startsWith(word));
  if (word.length >= 2 && prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

export function didYouMean(word: string, known: readonly string[], prefix = ''): string {
  const c = closest(word, known);
  return c ? ` (did you mean "${prefix}${c}"?)` : '';
}

/**
 * node:util parseArgs' error for an unknown option, with a suggestion:
 * "Unknown option '--jsn'" -> "unknown option --jsn (did you mean "--json"?)".
 */
export function optionError(message: string, options: readonly string[]): string {
  const m = /Unknown option '(-{1,2})([^'=]+)'/.exec(message);
  if (!m) return message;
  const given = m[2]!;
  return `unknown option ${m[1]}${given}${didYouMean(given, options, '--')}`;
}

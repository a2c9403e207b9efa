/**
 * "Did you mean": the candidate closest to a mistyped word, when it is close enough to be
 * what was meant (a typo or two, a swapped pair of letters, or a unique prefix).
 */

/** Edits between `a` and `b`: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to `word`, or undefined when none is plausibly meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const prefixed = candidates.filter((c) => w.length >= 2 && c.startsWith(w));
  if (prefixed.length === 1) return prefixed[0];
  // The start of several (`invo`: invoke or invocation?): a guess would likely be wrong.
  if (prefixed.length > 1) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(w, c);
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  // Up to a third of the word may be wrong (at least one edit, at most two).
  return bestDistance <= Math.min(2, Math.max(1, Math.floor(w.length / 3))) ? best : undefined;
}

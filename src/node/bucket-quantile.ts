/**
 * A quantile estimated from histogram bucket counts, as Prometheus' `histogram_quantile`
 * does: find the bucket holding the rank, and interpolate linearly inside it (the first
 * bucket starts at 0). A rank in the bucket above the last bound answers that bound —
 * the most that can be said. The error is at most one bucket's width.
 */
export function bucketQuantile(boundsMs: readonly number[], counts: readonly number[], q: number): number | null {
  let total = 0;
  for (const n of counts) total += n;
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n > 0 && below + n >= rank) {
      if (i >= boundsMs.length) return boundsMs[boundsMs.length - 1]!;
      const lower = i === 0 ? 0 : boundsMs[i - 1]!;
      const upper = boundsMs[i]!;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return boundsMs[boundsMs.length - 1]!;
}

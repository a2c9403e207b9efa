/**
 * The simulator's only source of randomness: sfc32 (Chris Doty-Humphrey's "small fast
 * counting" generator) on 32-bit integer operations, so a seed gives the same numbers on
 * every machine. Math.random is never used: a run must be reproducible from its seed.
 *
 * A generator has a 128-bit key; `fork(salt)` derives a child key from the key and the salt
 * alone, never from how many numbers the parent has drawn, so each function can own a
 * stream and the results do not depend on the order the streams are used in.
 */

const TWO_32 = 4294967296;
const GOLDEN = 0x9e3779b9;

/** murmur3's finaliser: a bijection on 32-bit words that mixes every bit into every bit. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** A number's low and high 32-bit words (seeds and salts may be any safe integer). */
function words(n: number, what: string): [number, number] {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer, got ${n}`);
  return [n | 0, Math.floor(n / TWO_32) | 0];
}

export class Random {
  // The key the stream started from (for fork) and sfc32's state: three words and a counter.
  private k0 = 0;
  private k1 = 0;
  private k2 = 0;
  private k3 = 0;
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number) {
    const [lo, hi] = words(seed, "seed");
    // splitmix32-style: step a Weyl sequence started from the seed and mix each step.
    let x = lo ^ mix32(hi ^ 0x6a09e667);
    this.k0 = mix32((x = (x + GOLDEN) | 0));
    this.k1 = mix32((x = (x + GOLDEN) | 0));
    this.k2 = mix32((x = (x + GOLDEN) | 0));
    this.k3 = mix32((x = (x + GOLDEN) | 0));
    this.start();
  }

  /**
   * An independent stream for `salt` (e.g. a function's index). Each child word depends on
   * one parent word and the salt through bijections, so two different salts below 2^32
   * never give the same child key.
   */
  fork(salt: number): Random {
    const [lo, hi] = words(salt, "salt");
    const child = new Random(0); // then rekeyed: one constructor keeps one object shape
    const s = (i: number) => mix32((lo + Math.imul(GOLDEN, i + 1)) | 0) ^ mix32((hi + Math.imul(0x3c6ef372, i + 1)) | 0);
    child.k0 = mix32(this.k0 ^ s(0));
    child.k1 = mix32(this.k1 ^ s(1));
    child.k2 = mix32(this.k2 ^ s(2));
    child.k3 = mix32(this.k3 ^ s(3));
    child.start();
    return child;
  }

  private start(): void {
    this.a = this.k0;
    this.b = this.k1;
    this.c = this.k2;
    this.d = this.k3;
    // sfc32's state needs a few rounds before related keys give unrelated outputs.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) | 0;
    return (t >>> 0) / TWO_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next()); // 1 - u is in (0, 1]: never log(0)
  }

  /**
   * Standard normal by Box-Muller. The pair's second value is dropped rather than cached,
   * so the whole stream state is the four sfc32 words (see saveState).
   */
  normal(): number {
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    return r * Math.cos(2 * Math.PI * this.next());
  }

  /** median · 10^(σ·N(0,1)): log-normal with its spread given in decades. */
  lognormal(median: number, sigmaLog10: number): number {
    return median * Math.exp(Math.LN10 * sigmaLog10 * this.normal());
  }

  /** Poisson(λ): exact (Knuth's product of uniforms) up to λ = 50, normal approximation above. */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Geometric on {1, 2, …} with the given mean (≥ 1): the number of trials to a success. */
  geometric(mean: number): number {
    if (mean <= 1) return 1;
    return 1 + Math.floor(Math.log(1 - this.next()) / Math.log(1 - 1 / mean));
  }

  /**
   * Park and resume a stream in a typed array (4 words per slot), so a million streams can
   * live in one Int32Array and one Random works them in turn. The key stays this object's.
   */
  saveState(into: Int32Array, slot: number): void {
    const i = slot * 4;
    into[i] = this.a;
    into[i + 1] = this.b;
    into[i + 2] = this.c;
    into[i + 3] = this.d;
  }

  loadState(from: Int32Array, slot: number): void {
    const i = slot * 4;
    this.a = from[i]!;
    this.b = from[i + 1]!;
    this.c = from[i + 2]!;
    this.d = from[i + 3]!;
  }
}

/**
 * z_j = Φ⁻¹((j + 0.5) / k), j < k: standard normal quantiles, for drawing a normal from one
 * uniform and a table when Box-Muller's log, sqrt and cos cost too much (see synthetic.ts).
 * Φ comes from the trapezoid rule on a 1/1024 grid over [-9, 9] (error ~1e-7).
 */
export function normalQuantiles(k: number): Float64Array {
  const step = 1 / 1024;
  const density = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  const out = new Float64Array(k);
  let x = -9;
  let pdf = density(x);
  let cdf = 0;
  let j = 0;
  for (let cell = 0; cell < 18 * 1024 && j < k; cell++) {
    const x1 = -9 + (cell + 1) * step;
    const pdf1 = density(x1);
    const cdf1 = cdf + ((pdf + pdf1) * step) / 2;
    for (; j < k && (j + 0.5) / k <= cdf1; j++) out[j] = x + (step * ((j + 0.5) / k - cdf)) / (cdf1 - cdf);
    x = x1;
    pdf = pdf1;
    cdf = cdf1;
  }
  for (; j < k; j++) out[j] = 9; // only if the integral fell short of the last quantile
  return out;
}

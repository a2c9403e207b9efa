/**
 * Cron schedules for scheduled triggers: parses a 5-field cron expression
 * (minute hour day-of-month month day-of-week) or a nickname such as "@daily", and
 * computes the next run times in an IANA time zone. Pure logic: no I/O, no clock —
 * callers pass "now" — so the scheduler and its tests are deterministic.
 *
 * Semantics follow Vixie cron and Cloudflare Workers cron triggers:
 * - Fields: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week
 *   0-7 (0 and 7 are Sunday) or SUN-SAT; names are case-insensitive. Each field is a comma
 *   list of `*`, `n` or `a-b`, each optionally followed by a step `/s` (every s-th value;
 *   a lone `n` with a step runs from n to the field's maximum, so "5/15" is 5,20,35,50).
 *   Ranges do not wrap ("22-2" is an error). Seconds and year fields are not supported.
 * - Nicknames: @yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly.
 * - Day-of-month and day-of-week: when both are restricted (written as anything but a bare
 *   `*`), a day matches if EITHER matches: "0 0 1 * MON" runs on the 1st and on Mondays.
 *   When one of them is `*`, only the other restricts.
 * - Fields are wall-clock time in the schedule's time zone. Daylight-saving choices:
 *   - Spring forward: a wall-clock time that does not exist that day (02:30 on 2026-03-29
 *     in Europe/Paris) runs at the first minute after the gap (03:00 local). Every time that
 *     falls in the gap, and 03:00 itself, share that one run: nothing runs twice.
 *   - Fall back: a wall-clock time that occurs twice (02:30 on 2026-10-25 in Europe/Paris)
 *     runs once, at its first occurrence (02:30 CEST). This holds for every schedule, so
 *     "* * * * *" does not run during the second pass of the repeated hour.
 * - A schedule that has no run within 5 years of the search start (e.g. "0 0 30 2 *")
 *   makes nextRun throw instead of searching forever.
 *
 * Efficiency: the search walks the local calendar, skipping whole months, days and hours
 * that cannot match, and converts only the candidate it finds to an instant (a few Intl
 * calls), so even a leap-day schedule costs a few hundred cheap steps, never a minute-by-
 * minute scan.
 */

export interface CronSchedule {
  /** The expression as written (trimmed). */
  readonly expression: string;
  /** IANA time zone the fields are read in, e.g. "Europe/Paris" or "UTC". */
  readonly timeZone: string;
  /** Allowed values of each field, sorted ascending, without duplicates. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0-6, Sunday = 0 (a written 7 is stored as 0). */
  readonly daysOfWeek: readonly number[];
  /** Whether the field was written as something other than a bare `*` (the OR rule). */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

/** A wrong cron expression, time zone or argument; the message says what is wrong and how to fix it. */
export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CronError";
  }
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const SEARCH_YEARS = 5;
const EXAMPLE = `"*/5 * * * *"`;

const NICKNAMES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names for values, the first one meaning `nameBase`. */
  readonly names?: readonly string[];
  readonly nameBase?: number;
  /** How to write a valid value, for error messages. */
  readonly valid: string;
  /** A typical step, for error messages. */
  readonly exampleStep: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59, valid: "a minute from 0 to 59", exampleStep: 5 },
  { name: "hour", min: 0, max: 23, valid: "an hour from 0 to 23", exampleStep: 2 },
  { name: "day-of-month", min: 1, max: 31, valid: "a day of the month from 1 to 31", exampleStep: 2 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES, nameBase: 1, valid: "a month from 1 to 12 or JAN-DEC", exampleStep: 3 },
  { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES, nameBase: 0, valid: "a day of the week from 0 to 7 (0 and 7 are Sunday) or SUN-SAT", exampleStep: 2 },
];

// ─── parsing ───────────────────────────────────────────────────────────────────────────

/** Where a field is being parsed, so errors can quote the expression and propose a fixed one. */
interface FieldContext {
  readonly expression: string;
  readonly fields: readonly string[];
  readonly index: number;
  readonly spec: FieldSpec;
}

function fail(expression: string, problem: string, fix: string): never {
  throw new CronError(`${JSON.stringify(expression)}: ${problem}; ${fix}`);
}

function failField(ctx: FieldContext, problem: string, fix: string): never {
  return fail(ctx.expression, problem, fix);
}

/** The expression with this field replaced, as a suggested fix. */
function withField(ctx: FieldContext, text: string): string {
  return JSON.stringify(ctx.fields.map((f, i) => (i === ctx.index ? text : f)).join(" "));
}

/**
 * Parses a 5-field cron expression (minute hour day-of-month month day-of-week) or a
 * nickname; throws CronError with a message saying what is wrong and how to fix it.
 */
export function parseCron(expression: string, timeZone = "UTC"): CronSchedule {
  if (typeof expression !== "string") throw new CronError(`a cron expression must be a string; write e.g. ${EXAMPLE}`);
  checkTimeZone(timeZone);
  const trimmed = expression.trim();
  const fields = splitFields(trimmed);
  const sets = FIELDS.map((spec, index) => parseField({ expression: trimmed, fields, index, spec }));
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets as [number[], number[], number[], number[], number[]];
  return Object.freeze({
    expression: trimmed,
    timeZone,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    dayOfMonthRestricted: fields[2] !== "*",
    dayOfWeekRestricted: fields[4] !== "*",
  });
}

/** The five fields of an expression, a nickname expanded. */
function splitFields(expression: string): string[] {
  if (expression === "") {
    throw new CronError(`the cron expression is empty; write 5 fields (minute hour day-of-month month day-of-week), e.g. ${EXAMPLE}, or a nickname such as "@hourly"`);
  }
  if (expression.startsWith("@")) return expandNickname(expression);
  const fields = expression.split(/\s+/);
  if (fields.length !== 5) {
    const extra = fields.length > 5 ? " (seconds and year fields are not supported)" : "";
    fail(expression, `expected 5 fields (minute hour day-of-month month day-of-week) but found ${fields.length}${extra}`, `write e.g. ${EXAMPLE}`);
  }
  return fields;
}

function expandNickname(expression: string): string[] {
  const expanded = NICKNAMES[expression.toLowerCase()];
  if (expanded === undefined) {
    fail(expression, "unknown nickname", `use one of ${Object.keys(NICKNAMES).join(", ")}, or 5 fields such as ${EXAMPLE}`);
  }
  return expanded.split(" ");
}

/** A field's allowed values, sorted and without duplicates (day-of-week 7 becomes 0). */
function parseField(ctx: FieldContext): number[] {
  const text = ctx.fields[ctx.index] ?? "";
  const values = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") failField(ctx, `the ${ctx.spec.name} field ${JSON.stringify(text)} has an empty item`, "remove the extra comma, e.g. \"1,2\" rather than \"1,,2\"");
    for (const v of parseItem(item, ctx)) values.add(ctx.spec.name === "day-of-week" && v === 7 ? 0 : v);
  }
  return [...values].sort((a, b) => a - b);
}

/** One list item: `*`, `n`, `a-b`, each optionally followed by `/step`. */
function parseItem(item: string, ctx: FieldContext): number[] {
  const parts = item.split("/");
  if (parts.length > 2) failField(ctx, `${ctx.spec.name} item ${JSON.stringify(item)} has more than one "/"`, `write one step, e.g. ${withField(ctx, `*/${ctx.spec.exampleStep}`)}`);
  const [base = "", stepText] = parts;
  if (base === "") failField(ctx, `${ctx.spec.name} item ${JSON.stringify(item)} has nothing before "/"`, `write e.g. ${withField(ctx, `*${item}`)}`);
  const step = stepText === undefined ? 1 : parseStep(stepText, item, ctx);
  const [from, to] = parseBase(base, stepText !== undefined, ctx);
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

function parseStep(text: string, item: string, ctx: FieldContext): number {
  const { name, min, max, exampleStep } = ctx.spec;
  const fix = `write e.g. ${withField(ctx, `*/${exampleStep}`)}`;
  if (text === "") failField(ctx, `${name} item ${JSON.stringify(item)} has nothing after "/"`, fix);
  if (!/^\d+$/.test(text)) failField(ctx, `${name} step ${JSON.stringify(text)} is not a whole number`, fix);
  const step = Number(text);
  if (step < 1 || step > max - min) failField(ctx, `${name} step ${step} is out of range 1-${max - min}`, fix);
  return step;
}

/** The first and last value of `*`, `n` or `a-b`; a lone `n` before a step runs to the maximum. */
function parseBase(base: string, stepped: boolean, ctx: FieldContext): [number, number] {
  const { spec } = ctx;
  if (base === "*") return [spec.min, spec.max];
  const ends = base.split("-");
  if (ends.length === 1) {
    const v = parseValue(base, ctx);
    return [v, stepped ? spec.max : v];
  }
  const [a = "", b = ""] = ends;
  if (ends.length !== 2 || a === "" || b === "") {
    failField(ctx, `${spec.name} range ${JSON.stringify(base)} is malformed`, `write a range as start-end, e.g. ${withField(ctx, `${spec.min}-${spec.min + 4}`)}`);
  }
  const from = parseValue(a, ctx);
  const to = parseValue(b, ctx);
  if (from > to) failField(ctx, `${spec.name} range ${base} is reversed (ranges do not wrap)`, `write ${JSON.stringify(wrappedRange(from, to, spec))}`);
  return [from, to];
}

/** What a reversed range `from-to` probably meant, e.g. 22-2 → "22-23,0-2". */
function wrappedRange(from: number, to: number, spec: FieldSpec): string {
  const dayOfWeek = spec.name === "day-of-week";
  if (dayOfWeek && to === 0) return `${from}-7`;
  const max = dayOfWeek ? 6 : spec.max; // Sunday comes from the tail's 0, not a 7
  const head = from === max ? `${from}` : `${from}-${max}`;
  const tail = to === spec.min ? `${to}` : `${spec.min}-${to}`;
  return `${head},${tail}`;
}

/** A number or (month, day-of-week) a three-letter name, checked against the field's range. */
function parseValue(text: string, ctx: FieldContext): number {
  const { spec } = ctx;
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + (spec.nameBase ?? 0);
  if (!/^\d+$/.test(text)) {
    const what = spec.names === undefined ? "a number" : "a number or a name";
    const fix = text === "?" ? `"?" is not supported, write "*"` : `write ${spec.valid}`;
    failField(ctx, `${spec.name} value ${JSON.stringify(text)} is not ${what}`, fix);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) failField(ctx, `${spec.name} ${value} is out of range ${spec.min}-${spec.max}`, `write ${spec.valid}`);
  return value;
}

// ─── time zones ────────────────────────────────────────────────────────────────────────

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Checks an IANA time zone name; throws CronError naming it and suggesting a valid one. */
export function checkTimeZone(timeZone: string): void {
  if (typeof timeZone === "string" && timeZone !== "") {
    try {
      formatterFor(timeZone);
      return;
    } catch {
      // fall through to the error below
    }
  }
  throw new CronError(`unknown time zone ${JSON.stringify(timeZone)}; use an IANA time zone name such as "Europe/Paris", "America/New_York" or "UTC"`);
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local wall-clock time of instant `t` in the zone, as "wall ms": Date.UTC of the local fields. */
function wallAt(timeZone: string, t: number): number {
  const p: Record<string, number> = {};
  for (const { type, value } of formatterFor(timeZone).formatToParts(t)) p[type] = Number(value);
  return Date.UTC(p["year"] ?? 0, (p["month"] ?? 1) - 1, p["day"] ?? 1, p["hour"] ?? 0, p["minute"] ?? 0, p["second"] ?? 0);
}

/** The zone's UTC offset at instant `t`, in ms (east positive). */
function offsetAt(timeZone: string, t: number): number {
  const whole = Math.floor(t / 1000) * 1000;
  return wallAt(timeZone, whole) - whole;
}

/**
 * The instant a local wall time happens: its first occurrence if it happens twice (fall
 * back), the end of the gap if it does not happen at all (spring forward).
 */
function instantOf(timeZone: string, wall: number): number {
  const before = offsetAt(timeZone, wall - DAY);
  const after = offsetAt(timeZone, wall + DAY);
  const valid = [wall - before, wall - after].filter((t) => t + offsetAt(timeZone, t) === wall);
  if (valid.length > 0) return Math.min(...valid);
  return gapEnd(timeZone, wall - after, wall - before, before);
}

/** The first whole minute in (lo, hi] whose offset is no longer `before`: where the gap ends. */
function gapEnd(timeZone: string, lo: number, hi: number, before: number): number {
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
    if (offsetAt(timeZone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

// ─── next runs ─────────────────────────────────────────────────────────────────────────

/** A local calendar position; fields may overflow (day 32, hour 24) and then carry. */
interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function civilOf(wall: number): Civil {
  const d = new Date(wall);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
}

function wallOf(c: Civil): number {
  return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function firstAtLeast(values: readonly number[], v: number): number | undefined {
  return values.find((x) => x >= v);
}

/** The standard cron day rule: OR when both day fields are restricted, otherwise AND. */
function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  const dom = s.daysOfMonth.includes(day);
  const dow = s.daysOfWeek.includes(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  return s.dayOfMonthRestricted && s.dayOfWeekRestricted ? dom || dow : dom && dow;
}

function firstDay(s: CronSchedule, c: Civil): number | undefined {
  const last = daysInMonth(c.year, c.month);
  for (let day = c.day; day <= last; day++) if (dayMatches(s, c.year, c.month, day)) return day;
  return undefined;
}

/**
 * The first local time at or after `c` that matches, or undefined past `limitWall`. Each
 * step either settles a field or jumps to the start of the next month, day or hour.
 */
function firstMatch(s: CronSchedule, start: Civil, limitWall: number): Civil | undefined {
  let c = start;
  while (wallOf(c) <= limitWall) {
    const month = firstAtLeast(s.months, c.month);
    if (month === undefined) c = { year: c.year + 1, month: 1, day: 1, hour: 0, minute: 0 };
    else if (month !== c.month) c = { year: c.year, month, day: 1, hour: 0, minute: 0 };
    else {
      const next = settleDay(s, c);
      if (next === c) return c;
      c = next;
    }
  }
  return undefined;
}

/** Within a matching month: `c` itself when day, hour and minute match, else where to look next. */
function settleDay(s: CronSchedule, c: Civil): Civil {
  const day = firstDay(s, c);
  if (day === undefined) return { year: c.year, month: c.month + 1, day: 1, hour: 0, minute: 0 };
  if (day !== c.day) return { ...c, day, hour: 0, minute: 0 };
  const hour = firstAtLeast(s.hours, c.hour);
  if (hour === undefined) return { ...c, day: c.day + 1, hour: 0, minute: 0 };
  if (hour !== c.hour) return { ...c, hour, minute: 0 };
  const minute = firstAtLeast(s.minutes, c.minute);
  if (minute === undefined) return { ...c, hour: c.hour + 1, minute: 0 };
  if (minute !== c.minute) return { ...c, minute };
  return c;
}

/**
 * The first run strictly after `afterMs` (Unix ms), as Unix ms at a whole minute. Throws
 * CronError if the schedule has no run within 5 years (e.g. "0 0 30 2 *").
 */
export function nextRun(schedule: CronSchedule, afterMs: number): number {
  if (!Number.isFinite(afterMs)) throw new CronError(`nextRun needs a finite time in Unix ms, got ${String(afterMs)}`);
  const zone = schedule.timeZone;
  // Step one local minute, not one instant minute: from 01:59 on a spring-forward day the
  // next local minute is 02:00 (in the gap, so it runs at 03:00), which must not be skipped.
  const startWall = wallAt(zone, Math.floor(afterMs / MINUTE) * MINUTE);
  const start = civilOf(Math.floor(startWall / MINUTE) * MINUTE + MINUTE);
  const limitWall = wallOf({ ...start, year: start.year + SEARCH_YEARS });
  for (let from = start; ; ) {
    const match = firstMatch(schedule, from, limitWall);
    if (match === undefined) throw noRunError(schedule, afterMs);
    const t = instantOf(zone, wallOf(match));
    // A match in the second pass of a repeated hour maps to its already-past first occurrence.
    if (t > afterMs) return t;
    from = civilOf(wallOf(match) + MINUTE);
  }
}

function noRunError(s: CronSchedule, afterMs: number): CronError {
  return new CronError(
    `${JSON.stringify(s.expression)} (${s.timeZone}) has no run in the ${SEARCH_YEARS} years after ${new Date(afterMs).toISOString()}: ` +
      `its day-of-month, month and day-of-week never line up (e.g. 30 February); fix those fields, e.g. "0 0 28 2 *"`,
  );
}

/** The next `count` runs after `afterMs`, ascending. */
export function nextRuns(schedule: CronSchedule, afterMs: number, count: number): number[] {
  if (!Number.isInteger(count) || count < 0) throw new CronError(`nextRuns needs a whole count of 0 or more, got ${String(count)}`);
  const runs: number[] = [];
  for (let t = afterMs; runs.length < count; ) {
    t = nextRun(schedule, t);
    runs.push(t);
  }
  return runs;
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTimeZone, CronError, nextRun, nextRuns, parseCron } from "./cron.ts";

/** The next `count` runs of `expression` in `timeZone` after the ISO time `from`, as ISO strings. */
function runs(expression: string, from: string, count: number, timeZone = "UTC"): string[] {
  return nextRuns(parseCron(expression, timeZone), Date.parse(from), count).map((t) => new Date(t).toISOString());
}

function next(expression: string, from: string, timeZone = "UTC"): string {
  return new Date(nextRun(parseCron(expression, timeZone), Date.parse(from))).toISOString();
}

/** Asserts parseCron throws a CronError whose message matches every pattern. */
function rejects(expression: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => parseCron(expression),
    (err: unknown) => {
      assert.ok(err instanceof CronError, `expected a CronError for ${JSON.stringify(expression)}`);
      for (const p of patterns) assert.match(err.message, p);
      return true;
    },
  );
}

// ─── parsing ─────────────────────────────────────────────────────────────────────────────

test("every field form parses to its set of values", () => {
  const s = parseCron("*/15 0-4/2 5/10 1,6-7 MON-FRI");
  assert.deepEqual(s.minutes, [0, 15, 30, 45]);
  assert.deepEqual(s.hours, [0, 2, 4]);
  assert.deepEqual(s.daysOfMonth, [5, 15, 25]);
  assert.deepEqual(s.months, [1, 6, 7]);
  assert.deepEqual(s.daysOfWeek, [1, 2, 3, 4, 5]);
  assert.equal(s.expression, "*/15 0-4/2 5/10 1,6-7 MON-FRI");
  assert.equal(s.timeZone, "UTC");
});

test("a bare star is every value; single numbers are one value", () => {
  const s = parseCron("7 13 31 12 3");
  assert.deepEqual([s.minutes, s.hours, s.daysOfMonth, s.months, s.daysOfWeek], [[7], [13], [31], [12], [3]]);
  const all = parseCron("* * * * *");
  assert.equal(all.minutes.length, 60);
  assert.equal(all.hours.length, 24);
  assert.equal(all.daysOfMonth.length, 31);
  assert.equal(all.months.length, 12);
  assert.deepEqual(all.daysOfWeek, [0, 1, 2, 3, 4, 5, 6]);
});

test("lists merge, sort and drop duplicates; whitespace between fields is free", () => {
  const s = parseCron("  30,5,10-12,11,*/20 \t 1   * *  *  ");
  assert.deepEqual(s.minutes, [0, 5, 10, 11, 12, 20, 30, 40]);
  assert.equal(s.expression, "30,5,10-12,11,*/20 \t 1   * *  *");
});

test("month and day names are case-insensitive and mix with numbers", () => {
  const s = parseCron("0 0 * jan,Mar-may,12 sun,Wed-6");
  assert.deepEqual(s.months, [1, 3, 4, 5, 12]);
  assert.deepEqual(s.daysOfWeek, [0, 3, 4, 5, 6]);
  assert.deepEqual(parseCron("0 0 * JAN-DEC/3 *").months, [1, 4, 7, 10]);
  assert.deepEqual(parseCron("0 0 * * MON/2").daysOfWeek, [0, 1, 3, 5]);
});

test("day-of-week 7 is Sunday, like 0", () => {
  assert.deepEqual(parseCron("0 0 * * 7").daysOfWeek, [0]);
  assert.deepEqual(parseCron("0 0 * * 5-7").daysOfWeek, [0, 5, 6]);
  assert.deepEqual(parseCron("0 0 * * 0-7").daysOfWeek, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(parseCron("0 0 * * */7").daysOfWeek, [0]);
});

test("a step on a single value runs to the field's maximum", () => {
  assert.deepEqual(parseCron("5/15 * * * *").minutes, [5, 20, 35, 50]);
  assert.deepEqual(parseCron("0 20/2 * * *").hours, [20, 22]);
  assert.deepEqual(parseCron("0 0 * 11/1 *").months, [11, 12]);
});

test("nicknames expand to their five fields, case-insensitively", () => {
  const same = (nick: string, fields: string) => {
    const a = parseCron(nick);
    const b = parseCron(fields);
    assert.equal(a.expression, nick);
    for (const k of ["minutes", "hours", "daysOfMonth", "months", "daysOfWeek", "dayOfMonthRestricted", "dayOfWeekRestricted"] as const) {
      assert.deepEqual(a[k], b[k], `${nick} ${k}`);
    }
  };
  same("@yearly", "0 0 1 1 *");
  same("@annually", "0 0 1 1 *");
  same("@monthly", "0 0 1 * *");
  same("@weekly", "0 0 * * 0");
  same("@daily", "0 0 * * *");
  same("@midnight", "0 0 * * *");
  same("@hourly", "0 * * * *");
  same("@DAILY", "0 0 * * *");
});

test("only a bare star leaves day-of-month or day-of-week unrestricted", () => {
  const a = parseCron("0 0 * * *");
  assert.equal(a.dayOfMonthRestricted, false);
  assert.equal(a.dayOfWeekRestricted, false);
  const b = parseCron("0 0 */2 * 1-5");
  assert.equal(b.dayOfMonthRestricted, true);
  assert.equal(b.dayOfWeekRestricted, true);
});

test("the schedule is frozen and keeps its time zone", () => {
  const s = parseCron("0 9 * * *", "Asia/Kolkata");
  assert.equal(s.timeZone, "Asia/Kolkata");
  assert.ok(Object.isFrozen(s));
});

// ─── parse errors ────────────────────────────────────────────────────────────────────────

test("a step out of range says which field, the range and a fixed expression", () => {
  rejects("*/61 * * * *", /^"\*\/61 \* \* \* \*": minute step 61 is out of range 1-59; write e\.g\. "\*\/5 \* \* \* \*"$/);
  rejects("*/60 * * * *", /minute step 60 is out of range 1-59/);
  rejects("0 */24 * * *", /hour step 24 is out of range 1-23/, /"0 \*\/2 \* \* \*"/);
  rejects("0 0 */31 * *", /day-of-month step 31 is out of range 1-30/);
  rejects("0 0 * */12 *", /month step 12 is out of range 1-11/);
  rejects("0 0 * * */8", /day-of-week step 8 is out of range 1-7/);
});

test("step 0 and steps that are not whole numbers are rejected", () => {
  rejects("*/0 * * * *", /minute step 0 is out of range 1-59/, /write e\.g\. "\*\/5 \* \* \* \*"/);
  rejects("*/x * * * *", /minute step "x" is not a whole number/);
  rejects("*/-1 * * * *", /minute step "-1" is not a whole number/);
  rejects("*/1.5 * * * *", /minute step "1\.5" is not a whole number/);
  rejects("5/ * * * *", /minute item "5\/" has nothing after "\/"/);
  rejects("/5 * * * *", /minute item "\/5" has nothing before "\/"/, /write e\.g\. "\*\/5 \* \* \* \*"/);
  rejects("*/5/2 * * * *", /minute item "\*\/5\/2" has more than one "\/"/);
});

test("values out of range name the field and its range", () => {
  rejects("60 * * * *", /minute 60 is out of range 0-59/, /write a minute from 0 to 59/);
  rejects("0 24 * * *", /hour 24 is out of range 0-23/);
  rejects("0 0 0 * *", /day-of-month 0 is out of range 1-31/);
  rejects("0 0 32 * *", /day-of-month 32 is out of range 1-31/);
  rejects("0 0 * 0 *", /month 0 is out of range 1-12/, /JAN-DEC/);
  rejects("0 0 * 13 *", /month 13 is out of range 1-12/);
  rejects("0 0 * * 8", /day-of-week 8 is out of range 0-7/, /0 and 7 are Sunday/, /SUN-SAT/);
  rejects("0-60 * * * *", /minute 60 is out of range 0-59/);
  rejects("99999999999999999999 * * * *", /minute 100000000000000000000 is out of range 0-59/);
});

test("reversed ranges are rejected with the wrapped range to write instead", () => {
  rejects("0 22-2 * * *", /hour range 22-2 is reversed \(ranges do not wrap\); write "22-23,0-2"/);
  rejects("50-10 * * * *", /minute range 50-10 is reversed \(ranges do not wrap\); write "50-59,0-10"/);
  rejects("0 0 * NOV-FEB *", /month range NOV-FEB is reversed/, /write "11-12,1-2"/);
  rejects("0 0 * * FRI-SUN", /day-of-week range FRI-SUN is reversed/, /write "5-7"/);
  rejects("0 0 * * 6-1", /write "6,0-1"/);
});

test("malformed ranges and non-numbers are rejected", () => {
  rejects("1-2-3 * * * *", /minute range "1-2-3" is malformed/, /start-end/);
  rejects("-5 * * * *", /minute range "-5" is malformed/);
  rejects("5- * * * *", /minute range "5-" is malformed/);
  rejects("abc * * * *", /minute value "abc" is not a number; write a minute from 0 to 59/);
  rejects("MON * * * *", /minute value "MON" is not a number/);
  rejects("0 0 * * JAN", /day-of-week value "JAN" is not a number or a name/, /SUN-SAT/);
  rejects("0 0 * JANUARY *", /month value "JANUARY" is not a number or a name/, /JAN-DEC/);
  rejects("0 0 ? * MON", /day-of-month value "\?" is not a number; "\?" is not supported, write "\*"/);
  rejects("1.5 * * * *", /minute value "1\.5" is not a number/);
});

test("empty list items are rejected", () => {
  rejects("1,,2 * * * *", /the minute field "1,,2" has an empty item/, /remove the extra comma/);
  rejects(",1 * * * *", /minute field ",1" has an empty item/);
  rejects("0 1, * * *", /hour field "1," has an empty item/);
});

test("missing or extra fields, empty expressions and unknown nicknames are rejected", () => {
  rejects("* * * *", /expected 5 fields \(minute hour day-of-month month day-of-week\) but found 4/, /write e\.g\. "\*\/5 \* \* \* \*"/);
  rejects("*", /but found 1/);
  rejects("0 * * * * *", /but found 6 \(seconds and year fields are not supported\)/);
  rejects("0 0 * * * 2026 x", /but found 7/);
  rejects("", /the cron expression is empty/, /"@hourly"/);
  rejects("   ", /the cron expression is empty/);
  rejects("@weekday", /"@weekday": unknown nickname; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly/);
  rejects("@reboot", /unknown nickname/);
  rejects("@daily 5", /unknown nickname/);
  assert.throws(() => parseCron(42 as unknown as string), /a cron expression must be a string/);
});

// ─── time zones ──────────────────────────────────────────────────────────────────────────

test("checkTimeZone accepts IANA names and UTC", () => {
  for (const tz of ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]) checkTimeZone(tz);
});

test("an unknown time zone names it and suggests valid ones", () => {
  for (const tz of ["Europe/Pariss", "Mars/Olympus", "", "+25:00"]) {
    assert.throws(
      () => checkTimeZone(tz),
      (err: unknown) => err instanceof CronError && err.message.includes(JSON.stringify(tz)) && /"Europe\/Paris"/.test(err.message) && /"UTC"/.test(err.message),
    );
  }
  assert.throws(() => parseCron("* * * * *", "Europe/Pariss"), /unknown time zone "Europe\/Pariss"; use an IANA time zone name such as "Europe\/Paris"/);
  assert.throws(() => checkTimeZone(undefined as unknown as string), CronError);
});

// ─── nextRun in UTC ──────────────────────────────────────────────────────────────────────

test("the next run is strictly after the given time, at a whole minute", () => {
  assert.equal(next("* * * * *", "2026-05-10T10:20:00.000Z"), "2026-05-10T10:21:00.000Z");
  assert.equal(next("* * * * *", "2026-05-10T10:20:59.999Z"), "2026-05-10T10:21:00.000Z");
  assert.equal(next("20 10 * * *", "2026-05-10T10:20:00.000Z"), "2026-05-11T10:20:00.000Z");
  assert.equal(next("20 10 * * *", "2026-05-10T10:19:30.000Z"), "2026-05-10T10:20:00.000Z");
});

test("nextRun carries across minute, hour, day, month and year boundaries", () => {
  assert.equal(next("*/15 * * * *", "2026-05-10T10:50:00Z"), "2026-05-10T11:00:00.000Z");
  assert.equal(next("30 * * * *", "2026-05-10T23:45:00Z"), "2026-05-11T00:30:00.000Z");
  assert.equal(next("0 6 * * *", "2026-04-30T07:00:00Z"), "2026-05-01T06:00:00.000Z");
  assert.equal(next("0 0 31 * *", "2026-04-01T00:00:00Z"), "2026-05-31T00:00:00.000Z", "April has no 31st");
  assert.equal(next("59 23 31 12 *", "2026-12-31T23:59:00Z"), "2027-12-31T23:59:00.000Z");
  assert.equal(next("* * * * *", "2026-12-31T23:59:00Z"), "2027-01-01T00:00:00.000Z");
  assert.equal(next("0 0 1 1 *", "2026-01-01T00:00:00Z"), "2027-01-01T00:00:00.000Z");
});

test("steps, ranges and lists choose the right runs", () => {
  assert.deepEqual(runs("*/20 9-10 * * *", "2026-05-10T00:00:00Z", 7), [
    "2026-05-10T09:00:00.000Z",
    "2026-05-10T09:20:00.000Z",
    "2026-05-10T09:40:00.000Z",
    "2026-05-10T10:00:00.000Z",
    "2026-05-10T10:20:00.000Z",
    "2026-05-10T10:40:00.000Z",
    "2026-05-11T09:00:00.000Z",
  ]);
  assert.deepEqual(runs("0 8,12,18 * * *", "2026-05-10T12:00:00Z", 3), [
    "2026-05-10T18:00:00.000Z",
    "2026-05-11T08:00:00.000Z",
    "2026-05-11T12:00:00.000Z",
  ]);
  // Months */4 are 1, 5 and 9; minutes 5/25 are 5, 30 and 55.
  assert.deepEqual(runs("5/25 0 1 */4 *", "2026-01-01T00:30:00Z", 3), [
    "2026-01-01T00:55:00.000Z",
    "2026-05-01T00:05:00.000Z",
    "2026-05-01T00:30:00.000Z",
  ]);
});

test("month and weekday names pick the right days", () => {
  // 2026-05-10 is a Sunday.
  assert.deepEqual(runs("0 9 * * MON-FRI", "2026-05-08T10:00:00Z", 3), [
    "2026-05-11T09:00:00.000Z",
    "2026-05-12T09:00:00.000Z",
    "2026-05-13T09:00:00.000Z",
  ]);
  assert.equal(next("0 9 * * SUN", "2026-05-08T10:00:00Z"), "2026-05-10T09:00:00.000Z");
  assert.equal(next("0 9 * * 7", "2026-05-08T10:00:00Z"), "2026-05-10T09:00:00.000Z");
  assert.equal(next("0 0 1 JUL,OCT *", "2026-07-02T00:00:00Z"), "2026-10-01T00:00:00.000Z");
});

test("day-of-month and day-of-week: either matches when both are restricted", () => {
  // 1st of the month or any Monday: 2026-06-01 (Mon), 06-08, 06-15, 06-22, 06-29, 07-01 (Wed), 07-06.
  assert.deepEqual(runs("0 0 1 * MON", "2026-05-31T00:00:00Z", 7).map((d) => d.slice(0, 10)), [
    "2026-06-01",
    "2026-06-08",
    "2026-06-15",
    "2026-06-22",
    "2026-06-29",
    "2026-07-01",
    "2026-07-06",
  ]);
  // Friday the 13th is not required: the 13th or any Friday.
  assert.deepEqual(runs("0 0 13 * 5", "2026-02-01T00:00:00Z", 4).map((d) => d.slice(0, 10)), [
    "2026-02-06",
    "2026-02-13",
    "2026-02-20",
    "2026-02-27",
  ]);
  // A step is still a restriction.
  assert.deepEqual(runs("0 0 */10 * SUN", "2026-05-01T00:00:00Z", 4).map((d) => d.slice(0, 10)), [
    "2026-05-03",
    "2026-05-10",
    "2026-05-11",
    "2026-05-17",
  ]);
});

test("day-of-month and day-of-week: with one of them *, only the other restricts", () => {
  assert.deepEqual(runs("0 0 * * MON", "2026-05-31T00:00:00Z", 2).map((d) => d.slice(0, 10)), ["2026-06-01", "2026-06-08"]);
  assert.deepEqual(runs("0 0 15 * *", "2026-05-31T00:00:00Z", 2).map((d) => d.slice(0, 10)), ["2026-06-15", "2026-07-15"]);
  assert.deepEqual(runs("@weekly", "2026-05-11T00:00:00Z", 2), ["2026-05-17T00:00:00.000Z", "2026-05-24T00:00:00.000Z"]);
});

test("nicknames run when they say", () => {
  assert.equal(next("@yearly", "2026-05-10T00:00:00Z"), "2027-01-01T00:00:00.000Z");
  assert.equal(next("@monthly", "2026-05-10T00:00:00Z"), "2026-06-01T00:00:00.000Z");
  assert.equal(next("@daily", "2026-05-10T00:00:00Z"), "2026-05-11T00:00:00.000Z");
  assert.equal(next("@hourly", "2026-05-10T00:00:00Z"), "2026-05-10T01:00:00.000Z");
});

test("a leap-day schedule finds the next 29 February, fast", () => {
  const s = parseCron("0 0 29 2 *");
  const from = Date.parse("2026-01-01T00:00:00Z");
  assert.deepEqual(runs("0 0 29 2 *", "2026-01-01T00:00:00Z", 3), [
    "2028-02-29T00:00:00.000Z",
    "2032-02-29T00:00:00.000Z",
    "2036-02-29T00:00:00.000Z",
  ]);
  nextRun(s, from); // warm up the time zone formatter
  const rounds = 50;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) nextRun(s, from + i * 60_000);
  const perRun = (performance.now() - started) / rounds;
  assert.ok(perRun < 5, `nextRun took ${perRun.toFixed(3)} ms`);
  assert.equal(next("0 0 29 2 *", "2026-03-01T00:00:00Z", "Europe/Paris"), "2028-02-28T23:00:00.000Z");
});

test("a schedule with no run within 5 years throws and says why", () => {
  for (const e of ["0 0 30 2 *", "0 0 31 4,6,9,11 *"]) {
    assert.throws(
      () => nextRun(parseCron(e), Date.parse("2026-01-01T00:00:00Z")),
      (err: unknown) =>
        err instanceof CronError &&
        err.message.includes(JSON.stringify(e)) &&
        /has no run in the 5 years after 2026-01-01T00:00:00\.000Z/.test(err.message) &&
        /never line up/.test(err.message),
    );
  }
  // The same day-of-month with a day-of-week is fine: either one matches (Mondays in February).
  assert.equal(next("0 0 30 2 MON", "2026-01-01T00:00:00Z"), "2026-02-02T00:00:00.000Z");
});

test("nextRuns returns count runs, each after the one before", () => {
  const s = parseCron("0 */6 * * *");
  const from = Date.parse("2026-05-10T05:00:00Z");
  const list = nextRuns(s, from, 5);
  assert.equal(list.length, 5);
  assert.deepEqual(list.map((t) => new Date(t).toISOString()), [
    "2026-05-10T06:00:00.000Z",
    "2026-05-10T12:00:00.000Z",
    "2026-05-10T18:00:00.000Z",
    "2026-05-11T00:00:00.000Z",
    "2026-05-11T06:00:00.000Z",
  ]);
  for (const t of list) assert.equal(t % 60_000, 0);
  assert.deepEqual(nextRuns(s, from, 0), []);
  assert.equal(nextRuns(s, from, 1)[0], nextRun(s, from));
  assert.throws(() => nextRuns(s, from, -1), /nextRuns needs a whole count of 0 or more, got -1/);
  assert.throws(() => nextRuns(s, from, 1.5), CronError);
  assert.throws(() => nextRun(s, Number.NaN), /nextRun needs a finite time in Unix ms, got NaN/);
});

// ─── nextRun in other time zones ─────────────────────────────────────────────────────────

test("fields are wall-clock time in the schedule's zone", () => {
  // New York in May is UTC-4, in January UTC-5.
  assert.equal(next("0 9 * * *", "2026-05-10T00:00:00Z", "America/New_York"), "2026-05-10T13:00:00.000Z");
  assert.equal(next("0 9 * * *", "2026-01-10T00:00:00Z", "America/New_York"), "2026-01-10T14:00:00.000Z");
  // Kolkata is UTC+05:30 all year.
  assert.equal(next("30 9 * * *", "2026-01-01T00:00:00Z", "Asia/Kolkata"), "2026-01-01T04:00:00.000Z");
  assert.equal(next("0 * * * *", "2026-01-01T00:00:00Z", "Asia/Kolkata"), "2026-01-01T00:30:00.000Z");
  // Paris in winter is UTC+1.
  assert.equal(next("0 0 * * *", "2026-01-10T12:00:00Z", "Europe/Paris"), "2026-01-10T23:00:00.000Z");
});

test("the local date decides the day fields, not the UTC date", () => {
  // 2026-05-11T22:00Z is Tuesday 03:30 in Kolkata but still Monday in UTC.
  assert.equal(next("30 3 * * TUE", "2026-05-11T00:00:00Z", "Asia/Kolkata"), "2026-05-11T22:00:00.000Z");
  // Midnight on the 1st in New York is 04:00/05:00 UTC on the 1st.
  assert.equal(next("@monthly", "2026-05-15T00:00:00Z", "America/New_York"), "2026-06-01T04:00:00.000Z");
  assert.equal(next("0 23 31 12 *", "2026-06-01T00:00:00Z", "America/New_York"), "2027-01-01T04:00:00.000Z");
});

test("Europe/Paris spring forward: a time in the gap runs once, at 03:00 local", () => {
  // 2026-03-29: 02:00 CET (01:00Z) jumps to 03:00 CEST.
  assert.deepEqual(runs("30 2 * * *", "2026-03-28T12:00:00Z", 3, "Europe/Paris"), [
    "2026-03-29T01:00:00.000Z",
    "2026-03-30T00:30:00.000Z",
    "2026-03-31T00:30:00.000Z",
  ]);
  // Times in the gap and 03:00 itself share the one run at the end of the gap.
  assert.deepEqual(runs("*/30 * * * *", "2026-03-29T00:15:00Z", 4, "Europe/Paris"), [
    "2026-03-29T00:30:00.000Z",
    "2026-03-29T01:00:00.000Z",
    "2026-03-29T01:30:00.000Z",
    "2026-03-29T02:00:00.000Z",
  ]);
  // From the last minute before the gap, the next local minute (02:00) is in it.
  assert.equal(next("* * * * *", "2026-03-29T00:59:00Z", "Europe/Paris"), "2026-03-29T01:00:00.000Z");
  assert.equal(next("* * * * *", "2026-03-29T01:00:00Z", "Europe/Paris"), "2026-03-29T01:01:00.000Z");
  // A schedule outside the gap is not affected.
  assert.equal(next("0 4 * * *", "2026-03-28T12:00:00Z", "Europe/Paris"), "2026-03-29T02:00:00.000Z");
});

test("Europe/Paris fall back: a repeated time runs once, at its first occurrence", () => {
  // 2026-10-25: 03:00 CEST (01:00Z) goes back to 02:00 CET; 02:00-02:59 happens twice.
  assert.deepEqual(runs("30 2 * * *", "2026-10-24T12:00:00Z", 3, "Europe/Paris"), [
    "2026-10-25T00:30:00.000Z",
    "2026-10-26T01:30:00.000Z",
    "2026-10-27T01:30:00.000Z",
  ]);
  // The second pass of the repeated hour runs nothing, even for every-30-minutes.
  assert.deepEqual(runs("*/30 * * * *", "2026-10-24T23:45:00Z", 5, "Europe/Paris"), [
    "2026-10-25T00:00:00.000Z",
    "2026-10-25T00:30:00.000Z",
    "2026-10-25T02:00:00.000Z",
    "2026-10-25T02:30:00.000Z",
    "2026-10-25T03:00:00.000Z",
  ]);
  // Asked from inside the second pass, the already-run 02:30 is not repeated.
  assert.equal(next("30 2 * * *", "2026-10-25T01:10:00Z", "Europe/Paris"), "2026-10-26T01:30:00.000Z");
  assert.equal(next("* * * * *", "2026-10-25T01:10:00Z", "Europe/Paris"), "2026-10-25T02:00:00.000Z");
});

test("America/New_York: both DST transitions of 2026", () => {
  // 2026-03-08: 02:00 EST (07:00Z) jumps to 03:00 EDT; 02:30 runs at 03:00 EDT.
  assert.deepEqual(runs("30 2 * * *", "2026-03-07T12:00:00Z", 3, "America/New_York"), [
    "2026-03-08T07:00:00.000Z",
    "2026-03-09T06:30:00.000Z",
    "2026-03-10T06:30:00.000Z",
  ]);
  // 2026-11-01: 02:00 EDT (06:00Z) goes back to 01:00 EST; 01:30 runs once, in EDT.
  assert.deepEqual(runs("30 1 * * *", "2026-10-31T12:00:00Z", 3, "America/New_York"), [
    "2026-11-01T05:30:00.000Z",
    "2026-11-02T06:30:00.000Z",
    "2026-11-03T06:30:00.000Z",
  ]);
  assert.deepEqual(runs("0 * * * *", "2026-11-01T03:30:00Z", 4, "America/New_York"), [
    "2026-11-01T04:00:00.000Z",
    "2026-11-01T05:00:00.000Z",
    "2026-11-01T07:00:00.000Z",
    "2026-11-01T08:00:00.000Z",
  ]);
});

test("gaps of other sizes and at midnight end where the zone's gap ends", () => {
  // Lord Howe moves 30 minutes: 02:00 → 02:30 on 2026-10-04 (+10:30 → +11:00).
  assert.deepEqual(runs("15 2 * * *", "2026-10-02T12:00:00Z", 3, "Australia/Lord_Howe"), [
    "2026-10-02T15:45:00.000Z",
    "2026-10-03T15:30:00.000Z",
    "2026-10-04T15:15:00.000Z",
  ]);
  // Santiago skips midnight on 2026-09-06 (00:00 -04 → 01:00 -03).
  assert.deepEqual(runs("0 0 * * *", "2026-09-04T12:00:00Z", 3, "America/Santiago"), [
    "2026-09-05T04:00:00.000Z",
    "2026-09-06T04:00:00.000Z",
    "2026-09-07T03:00:00.000Z",
  ]);
});

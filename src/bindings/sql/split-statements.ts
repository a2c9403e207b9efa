/**
 * SQL text cut into its statements, for what runs several at once (`exec`, `flick db query`,
 * migrations, imports): string literals, quoted names, comments and a trigger's
 * `BEGIN … END` are not cut inside. Empty statements are dropped.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  /** Inside CREATE TRIGGER … BEGIN, until its END. */
  let trigger = false;
  /** CASE … END inside a trigger's body: that END is not the trigger's. */
  let cases = 0;
  let words: string[] = [];
  const flush = (end: number) => {
    const text = sql.slice(start, end).trim();
    if (stripComments(text).trim() !== "") out.push(text);
    start = end + 1;
    trigger = false;
    cases = 0;
    words = [];
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`") {
      const close = sql.indexOf(c, i + 1);
      i = close === -1 ? sql.length : close + 1;
      // A doubled quote ('it''s') is two literals back to back: the loop sees both.
      continue;
    }
    if (c === "[") {
      const close = sql.indexOf("]", i + 1);
      i = close === -1 ? sql.length : close + 1;
      continue;
    }
    if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i);
      i = nl === -1 ? sql.length : nl + 1;
      continue;
    }
    if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? sql.length : close + 2;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (words.length < 3) words.push(word);
      // CREATE [TEMP] TRIGGER … BEGIN: semicolons inside belong to the trigger until END.
      if (word === "BEGIN" && words.includes("TRIGGER")) trigger = true;
      else if (word === "CASE" && trigger) cases++;
      else if (word === "END" && trigger) {
        if (cases > 0) cases--;
        else trigger = false;
      }
      i = j;
      continue;
    }
    if (c === ";" && !trigger) {
      flush(i);
      i++;
      continue;
    }
    i++;
  }
  flush(sql.length);
  return out;
}

/** The statement without its comments (to see whether anything is left, and its first word). */
export function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*(\n|$)/g, " ").replace(/\/\*[\s\S]*?(\*\/|$)/g, " ");
}

/** The first keyword of a statement, upper case ("" for none). */
export function firstKeyword(sql: string): string {
  return /^\s*([A-Za-z]+)/.exec(stripComments(sql))?.[1]?.toUpperCase() ?? "";
}

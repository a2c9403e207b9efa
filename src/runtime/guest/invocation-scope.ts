/**
 * Which invocation the guest is running right now, so console lines and timers are
 * charged to it. The host enters the isolate for one invocation at a time (dispatch, a
 * timer firing) and the microtasks that entry triggers run before it returns, so "the
 * invocation of the current entry" is set on every entry and left in place: code after
 * an `await` still sees its own invocation. The one approximation: a continuation whose
 * promise was settled by another request's code runs in, and is charged to, that entry.
 */
let current = 0;

export function currentInvocation(): number {
  return current;
}

/** Called at the start of every host entry. */
export function enterInvocation(id: number): void {
  current = id;
}

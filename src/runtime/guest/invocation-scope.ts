/**
 * Which invocation the guest is running right now, so console lines, timers and outbound
 * calls are charged to it, and what each module forgets when an invocation ends.
 *
 * Every event of an entry sets the current invocation before it runs guest code (a
 * request, a timer, a fetch answer), and it is left in place while the microtasks that
 * event started have their turns (dispatcher.ts `run`), so code after an `await` still
 * sees its own invocation. The approximations: a continuation whose promise was settled
 * by another request's code runs in, and is charged to, that request; so is one still
 * running after its event's turns (over 64 microtask turns without answering or waiting
 * on the host).
 */
let current = 0;
const endHooks: ((invocation: number) => void)[] = [];

export function currentInvocation(): number {
  return current;
}

/** Called before guest code runs for `id` (0: module scope). */
export function enterInvocation(id: number): void {
  current = id;
}

/** `hook` runs when an invocation ends: modules drop what they keep per invocation. */
export function onInvocationEnd(hook: (invocation: number) => void): void {
  endHooks.push(hook);
}

/** The invocation is over (answered, failed, timed out or cancelled): every module forgets it. */
export function endInvocation(id: number): void {
  // Nothing runs as an invocation once it ended: module scope again (a pooled instance's
  // warm-up requests end before the function's module is evaluated).
  if (current === id) current = 0;
  for (const hook of endHooks) hook(id);
}

/**
 * Which invocation the guest is running right now, so console lines and timers are
 * charged to it. The host enters the isolate for exactly one invocation at a time
 * (dispatch, timer, op completion), and sets this before running any user code.
 */
let current = 0;

export function currentInvocation(): number {
  return current;
}

export function enterInvocation(id: number): number {
  const previous = current;
  current = id;
  return previous;
}

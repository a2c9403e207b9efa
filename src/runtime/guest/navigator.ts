/** `navigator` (WinterTC): only `userAgent`, which says what runs the code. */
export const userAgent = "Flick/0.1 (V8 isolate)";

class Navigator {
  constructor() {
    throw new TypeError("Illegal constructor");
  }
}
Object.defineProperties(Navigator.prototype, {
  userAgent: {
    get(): string {
      return userAgent;
    },
    enumerable: true,
    configurable: true,
  },
  [Symbol.toStringTag]: { value: "Navigator", configurable: true },
});

export function navigatorGlobals(): Record<string, unknown> {
  return { Navigator, navigator: Object.create(Navigator.prototype) as Navigator };
}

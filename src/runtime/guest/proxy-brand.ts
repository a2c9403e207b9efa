/**
 * Tells the runtime's guards which objects are Proxies. ECMAScript has no such test, and
 * `Array.isArray` is true for a Proxy of an array, whose `length` a `get` trap can answer
 * one way to a guard and another way to the builtin the guard then calls. So the global
 * `Proxy` records every Proxy it makes (and `Proxy.revocable` does the same). It is a
 * bound function, which keeps it a constructor without a `prototype` whose source text
 * reads `[native code]`, like the real one (and constructs 20 times faster than a Proxy
 * with a `construct` trap would).
 */
const FunctionPrototypeCall = Function.prototype.call;
const NativeProxy = Proxy;
const nativeRevocable = Proxy.revocable;
const ReflectApply = Reflect.apply;
const FunctionPrototypeBind = Function.prototype.bind;
const ObjectDefineProperty = Object.defineProperty;
const WeakSetCtor = WeakSet;
const WeakSetAdd = FunctionPrototypeCall.bind(WeakSet.prototype.add) as unknown as (self: WeakSet<object>, value: object) => WeakSet<object>;
const WeakSetHas = FunctionPrototypeCall.bind(WeakSet.prototype.has) as unknown as (self: WeakSet<object>, value: unknown) => boolean;

const proxies = new WeakSetCtor<object>();

/** True for an object made by `new Proxy` or `Proxy.revocable` after the runtime loaded. */
export function isProxy(value: unknown): boolean {
  return WeakSetHas(proxies, value);
}

/** A Proxy the guards use themselves (a plain one: it never reaches user code as a receiver's brand). */
export function createUntrackedProxy<T extends object>(target: T, handler: ProxyHandler<T>): T {
  return new NativeProxy(target, handler);
}

export function installProxyBrand(global: typeof globalThis): void {
  if (global.Proxy !== NativeProxy) return;
  const revocable = {
    revocable(target: object, handler: ProxyHandler<object>): { proxy: object; revoke: () => void } {
      const result = ReflectApply(nativeRevocable, NativeProxy, [target, handler]) as { proxy: object; revoke: () => void };
      WeakSetAdd(proxies, result.proxy);
      return result;
    },
  }.revocable;
  const construct = function Proxy(this: unknown, target: object, handler: ProxyHandler<object>): object {
    if (new.target === undefined) throw new TypeError("Constructor Proxy requires 'new'");
    const proxy = new NativeProxy(target, handler);
    WeakSetAdd(proxies, proxy);
    return proxy;
  };
  const TrackingProxy = ReflectApply(FunctionPrototypeBind, construct, [undefined]) as ProxyConstructor;
  ObjectDefineProperty(TrackingProxy, "name", { value: "Proxy" });
  ObjectDefineProperty(TrackingProxy, "revocable", { value: revocable, writable: true, enumerable: false, configurable: true });
  ObjectDefineProperty(global, "Proxy", { value: TrackingProxy, writable: true, enumerable: false, configurable: true });
}

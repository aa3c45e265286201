/**
 * One instance of a companion store (run ledger, risk history, trends, notifier state) per backlog store
 * or router: a long-lived server does not rebuild it per call, and on `auto` its replay hook is
 * registered with the router once.
 */
export function perStore<T extends object>(): <U extends T>(key: object, make: () => U) => U {
  const cache = new WeakMap<object, T>();
  return <U extends T>(key: object, make: () => U): U => {
    let v = cache.get(key) as U | undefined;
    if (!v) cache.set(key, (v = make()));
    return v;
  };
}

/**
 * Calls of the same key made while one is under way share it: a fleet's
 * batch of starts asks each engine once for its containers and once for the
 * image (and copies a missing image once), not once per instance. Nothing is
 * kept after the call settles: the next batch asks afresh.
 */
export function createSharedCalls<Value>(): (key: string, call: () => Promise<Value>) => Promise<Value> {
  const underWay = new Map<string, Promise<Value>>();
  return (key, call) => {
    const running = underWay.get(key);
    if (running !== undefined) return running;
    const started = call().finally(() => underWay.delete(key));
    underWay.set(key, started);
    return started;
  };
}

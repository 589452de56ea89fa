/**
 * Group commit: a queue whose items are flushed in batches, one flush at a
 * time, in submission order. Items submitted while a flush runs wait for it
 * and then go together in the next one, so a burst of N durable writes costs
 * two flushes (each with its fsyncs) instead of N: a fleet's batch of starts
 * each journal the state before their spawn, and one after the other they
 * would wait for each other's fsyncs. Each submitter's promise settles with
 * the flush that carried its item: resolved once that flush is done, rejected
 * with its error (a failed flush does not stop the next one).
 */
export function createGroupCommit<Item>(flush: (batch: readonly Item[]) => Promise<void>): (item: Item) => Promise<void> {
  interface Batch {
    items: Item[];
    done: Promise<void>;
    resolve: () => void;
    reject: (error: unknown) => void;
  }
  const open = (): Batch => {
    const batch = { items: [] } as unknown as Batch;
    batch.done = new Promise<void>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    return batch;
  };
  let flushing = false;
  let waiting: Batch | undefined;

  const run = async (batch: Batch): Promise<void> => {
    flushing = true;
    try {
      await flush(batch.items);
      batch.resolve();
    } catch (error) {
      batch.reject(error);
    }
    const following = waiting;
    waiting = undefined;
    flushing = false;
    if (following !== undefined) void run(following);
  };

  return (item) => {
    if (flushing) {
      waiting ??= open();
      waiting.items.push(item);
      return waiting.done;
    }
    const batch = open();
    batch.items.push(item);
    void run(batch);
    return batch.done;
  };
}

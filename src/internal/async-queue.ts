/**
 * A push-fed async iterable with one consumer: producers push() values, end() or fail();
 * the consumer awaits them in order. Buffered without bound: the producers here (watch
 * streams) must not block on one slow consumer. onReturn runs when the consumer stops early.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiting: Array<{
    resolve: (r: IteratorResult<T>) => void;
    reject: (e: unknown) => void;
  }> = [];
  private done = false;
  private error: unknown;
  private failed = false;

  constructor(private readonly onReturn?: () => void) {}

  get closed(): boolean {
    return this.done;
  }

  /** How many values wait for the consumer. */
  get size(): number {
    return this.items.length;
  }

  push(value: T): void {
    if (this.done) return;
    const w = this.waiting.shift();
    if (w) w.resolve({ value, done: false });
    else this.items.push(value);
  }

  /** Ends the iteration after the values already pushed. */
  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.items.length === 0) this.settleWaiting();
  }

  /** Ends the iteration with an error, after the values already pushed. */
  fail(error: unknown): void {
    if (this.done) return;
    this.failed = true;
    this.error = error;
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.items.shift();
    if (value !== undefined) {
      if (this.done && this.items.length === 0) queueMicrotask(() => this.settleWaiting());
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      if (this.failed) {
        this.failed = false;
        return Promise.reject(this.error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    const wasOpen = !this.done;
    this.done = true;
    this.failed = false;
    this.items.length = 0;
    this.settleWaiting();
    if (wasOpen) this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** As a generator's throw(): the consumer gives up with an error; the queue closes. */
  throw(_error?: unknown): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settleWaiting(): void {
    for (const w of this.waiting.splice(0)) {
      if (this.failed) {
        this.failed = false;
        w.reject(this.error);
      } else {
        w.resolve({ value: undefined, done: true });
      }
    }
  }
}

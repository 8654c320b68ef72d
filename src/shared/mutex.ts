/** A promise-chain mutex: run(fn) waits for every earlier run to settle. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private depth = 0;

  get locked(): boolean {
    return this.depth > 0;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.depth++;
    const p = this.tail.then(fn, fn);
    this.tail = p.then(
      () => this.depth--,
      () => this.depth--,
    );
    return p;
  }
}

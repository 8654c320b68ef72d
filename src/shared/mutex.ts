/** A promise-chain mutex: run(fn) waits for every earlier run to settle. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  /** runs queued or running */
  private held = 0;

  /** a run is queued or running (the LB's rebalance waits while /init, /add, /rm or a respawn holds it) */
  get busy(): boolean {
    return this.held > 0;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.held++;
    const p = this.tail.then(fn, fn);
    const done = () => void this.held--;
    this.tail = p.then(done, done);
    return p;
  }
}

/**
 * The floor every breaker is compared with: the least a breaker can do on the success path —
 * check the state, remember the generation, touch a counter. Nothing else (no options, no events).
 */
const floorOpen = new Error('floor breaker is open');

export class FloorBreaker {
  private open = false;
  private gen = 0;
  private failures = 0;

  async execute<T>(fn: () => PromiseLike<T> | T): Promise<T> {
    if (this.open) throw floorOpen;
    const gen = this.gen;
    try {
      const value = await fn();
      if (gen === this.gen) this.failures = 0;
      return value;
    } catch (err) {
      if (gen === this.gen && ++this.failures >= 5) {
        this.open = true;
        this.gen++;
      }
      throw err;
    }
  }
}

/** The label value that every value past the cap is folded into. */
export const OTHER_LABEL = 'other';

/**
 * Keeps a label's values bounded: the first `limit` distinct values (and every value of
 * `always`) keep their name, later ones are folded into {@link OTHER_LABEL}. A value that got a
 * name keeps it for the life of the process, so a series never changes its label. Memory is
 * bounded by `limit` plus `always`.
 */
export class BoundedLabel {
  readonly #limit: number;
  readonly #known = new Set<string>();
  readonly #always: ReadonlySet<string>;

  /**
   * @param limit - how many distinct values (besides `always`) get a label of their own.
   * @param always - values that always keep their name and do not count against `limit`.
   */
  constructor(limit: number, always: Iterable<string> = []) {
    this.#limit = limit;
    this.#always = new Set(always);
  }

  /** The label for `value`: itself while under the cap (or already known), else `other`. */
  of(value: string): string {
    if (this.#always.has(value) || this.#known.has(value)) return value;
    if (this.#known.size < this.#limit) {
      this.#known.add(value);
      return value;
    }
    return OTHER_LABEL;
  }

  /** The values that have a label of their own, besides `always`. */
  get known(): ReadonlySet<string> {
    return this.#known;
  }
}

/**
 * A place in a channel's history: the `offset` of a publication (increasing by exactly 1 per
 * publication in the channel, across every node) and the `epoch` of the stream it belongs to.
 * The epoch changes whenever the store lost the channel's stream (a restart of an in-memory
 * store, a flush, `remove`), so an offset is only meaningful with its epoch.
 */
export interface StreamPosition {
  /** The offset of the last publication (0 before the first). */
  offset: number;
  /** The stream's epoch. */
  epoch: string;
}

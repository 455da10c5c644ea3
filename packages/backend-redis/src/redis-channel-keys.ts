import { topicFor } from '@dotmac-ws/core';

/**
 * The Redis keys of one gateway channel. Every key of a channel shares one hash tag: the name
 * of the Redis pub/sub channel that a `RedisBackend` with the same `keyPrefix` uses for the
 * channel's topic (`{dotmac-ws:channel:news}`). So in a Redis Cluster all of a channel's keys
 * live in one slot (a Lua script may use them together), and that slot is the one of its
 * sharded pub/sub channel: the history script may `SPUBLISH` on it from the shard that holds
 * the keys. Channel names cannot hold `{` or `}` (protocol.md, "Channels") and neither can a
 * `keyPrefix`, so the tag is always the whole of the braces.
 * @internal
 */
export class RedisChannelKeys {
  /** `{<keyPrefix>channel:<channel>}`. */
  readonly tag: string;

  constructor(keyPrefix: string, channel: string) {
    this.tag = `{${keyPrefix}${topicFor({ kind: 'channel', channel, name: channel })}}`;
  }

  /** History: a hash of the channel's `epoch` and `top` offset. */
  get historyMeta(): string {
    return `${this.tag}:history:meta`;
  }

  /** History: the stream of publications, entry id `<offset>-0`, field `d` the body. */
  get historyStream(): string {
    return `${this.tag}:history:stream`;
  }

  /** History: an idempotency key of the channel, holding `<offset> <epoch>` of its publication. */
  historyIdempotency(key: string): string {
    return `${this.tag}:history:idem:${key}`;
  }

  /** Presence: a sorted set of session ids, scored by their expiry (Redis server time, ms). */
  get presenceExpiry(): string {
    return `${this.tag}:presence:expiry`;
  }

  /** Presence: a hash of session id to the member as JSON. */
  get presenceMembers(): string {
    return `${this.tag}:presence:members`;
  }
}

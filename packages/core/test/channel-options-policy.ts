import type { ChannelOptions, ChannelPolicy } from '../src/index';

/**
 * A test policy: channels are named `<kind>:<anything>` and `options` maps the kind to its
 * channel options; `secret:*` may not be subscribed to; anyone may publish.
 */
export function optionsPolicy(byKind: Record<string, ChannelOptions>): ChannelPolicy {
  return {
    canSubscribe: (_session, channel) => !channel.name.startsWith('secret:'),
    canPublish: () => true,
    options: (channel) => byKind[channel.name.split(':')[0] ?? ''] ?? null,
  };
}

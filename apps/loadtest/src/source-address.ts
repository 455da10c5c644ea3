/**
 * The source address of connection `index` when connections are spread over `count` loopback
 * addresses (127.0.0.1 … 127.0.0.{count}); undefined leaves the choice to the system. Linux
 * routes all of 127.0.0.0/8 to the loopback interface, so each address brings its own
 * ~28,000 ephemeral ports.
 */
export function sourceAddress(index: number, count: number): string | undefined {
  return count <= 1 ? undefined : `127.0.0.${1 + (index % count)}`;
}

/**
 * The first source port the runner chooses itself when it spreads connections over several
 * loopback addresses. Ports from here up to {@link SOURCE_PORT_END} lie below Linux's ephemeral
 * range (32768-60999 by default), so the kernel never picks one of them for another socket.
 */
export const SOURCE_PORT_BASE = 10_000;
/** The first port past the runner's own source ports. */
export const SOURCE_PORT_END = 32_768;

/** Where a connection connects from; empty leaves both to the system. */
export interface SourceEndpoint {
  localAddress?: string;
  localPort?: number;
}

/**
 * Where connection `index` connects from when connections are spread over `count` loopback
 * addresses (127.0.0.1 … 127.0.0.{count}); empty (the system chooses) when `count` is 1. Linux
 * routes all of 127.0.0.0/8 to the loopback interface, so each address brings its own ports.
 *
 * A connection also gets a port of its own (`SOURCE_PORT_BASE + index / count`) while there is
 * one below {@link SOURCE_PORT_END}: a socket bound to an address with port 0 makes the kernel
 * search the address's ephemeral ports one by one at `bind`, which grows with every port in use
 * or in TIME_WAIT (a storm of 19,000 connections over 2 addresses: 5.1 s of the runner's system
 * time and 2,350 connections/s, against 1.2 s and 5,260/s with ports chosen here). The same
 * connection index gets the same port again when it reconnects; `LoadConnection.open` falls
 * back to the system's choice when that port is taken.
 */
export function sourceEndpoint(index: number, count: number): SourceEndpoint {
  if (count <= 1) return {};
  const localAddress = `127.0.0.${1 + (index % count)}`;
  const localPort = SOURCE_PORT_BASE + Math.floor(index / count);
  return localPort < SOURCE_PORT_END ? { localAddress, localPort } : { localAddress };
}

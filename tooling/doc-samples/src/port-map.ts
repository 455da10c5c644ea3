import { freePort } from '@dotmac-ws/test-utils';

/**
 * The ports documents use: the gateway (8765), a second gateway node (8766), the application
 * serving a page (8080) and a load balancer (8000). In a runnable sample each stands for a free
 * port chosen per document, so that documents run side by side and never meet a real server.
 */
export const DOC_PORTS: readonly number[] = [8765, 8766, 8080, 8000];

const PORT_WORD = new RegExp(`\\b(${DOC_PORTS.join('|')})\\b`, 'g');

/** The free port that stands for each documented port, for one document. */
export class PortMap {
  private constructor(private readonly ports: ReadonlyMap<number, number>) {}

  /** Picks a free port for every documented port. */
  static async create(): Promise<PortMap> {
    const ports = new Map<number, number>();
    for (const p of DOC_PORTS) {
      let port = await freePort();
      // Bounded: two picks in a row rarely collide, never ten times.
      for (let tries = 0; tries < 10 && [...ports.values()].includes(port); tries++) port = await freePort();
      ports.set(p, port);
    }
    return new PortMap(ports);
  }

  /** The real port standing for documented port `doc` (8765, 8766, 8080 or 8000). */
  port(doc: number): number {
    const port = this.ports.get(doc);
    if (port === undefined)
      throw new Error(`${doc} is not one of the documented ports ${DOC_PORTS.join(', ')}`);
    return port;
  }

  /** `text` with every documented port replaced by its real port. */
  rewrite(text: string): string {
    return text.replace(PORT_WORD, (m) => String(this.port(Number(m))));
  }
}

import { onCleanup, sleep, type TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend';
import { BackendUnavailableError, NOT_ACCEPTED_MESSAGE } from '../backend-unavailable-error';
import {
  CONFORMANCE_ANNOUNCE_MS,
  ConformanceNode,
  framesOf,
  seqsOf,
  subscribe,
  unsubscribe,
} from './conformance-node';

/**
 * The broker side of one conformance test: where the nodes' backends come from, and what the
 * suite may ask of the broker. A fresh cluster is made for every test.
 */
export interface ConformanceCluster {
  /** Creates the (not yet started) backend of one more node. */
  createBackend(): Backend | Promise<Backend>;
  /**
   * How many nodes the broker holds a subscription of `topic` for (Redis: `PUBSUB NUMSUB`).
   * With it, the suite checks interest-based subscription on the broker itself.
   */
  subscriberCount?(topic: string): Promise<number>;
  /** Stops the broker (required when the suite runs with `brokerOutage`). */
  stopBroker?(): Promise<void>;
  /** Starts the broker again after {@link stopBroker}. */
  startBroker?(): Promise<void>;
  /** Releases what the cluster holds; runs after the test's gateways have stopped. */
  close?(): Promise<void>;
}

/** What a cluster must provide for one test. */
export interface ClusterNeeds {
  /** The test stops and restarts the broker: it needs one of its own. */
  brokerControl: boolean;
}

/** Options of {@link runBackendConformance}. */
export interface BackendConformanceOptions {
  /** Names the `describe` block, e.g. `RedisBackend`. */
  name: string;
  /** Makes the cluster of one test. */
  createCluster(needs: ClusterNeeds): ConformanceCluster | Promise<ConformanceCluster>;
  /**
   * Runs the broker outage test (the cluster must then stop and start its broker).
   * @default false
   */
  brokerOutage?: boolean;
  /** How long the broker stays down in the outage test. @default 5000 */
  outageMs?: number;
  /** How soon after the broker returns every node must be subscribed and delivering again. @default 3000 */
  recoveryMs?: number;
  /** How long a cross-node delivery may take. @default 3000 */
  deliveryTimeoutMs?: number;
  /** A reason to skip the whole suite (e.g. the broker is absent), or false to run it. @default false */
  skip?: string | false;
}

/** The counters a backend's `stats()` reports, checked by the outage test. */
export const BACKEND_STAT_KEYS = ['published', 'received', 'dropped', 'errors', 'resubscribes'] as const;

/** Every character a channel name may hold (protocol.md, "Channels"). */
const CHANNEL_NAMES = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  '0123456789',
  '_-.:@/=',
  'a.b',
  'a:b',
  'a/b',
  'a=b',
  'a@b',
  'a-b',
  'a_b',
  'x'.repeat(200),
];

/**
 * Registers the backend conformance suite: real gateways on port 0 over backends from
 * `createCluster`, real WebSocket clients, and the contract of core's `Backend` interface —
 * cross-node delivery, interest-based subscription and unsubscription, exactly one delivery per
 * session, per-publisher order, every channel character, tenant isolation, user / tenant /
 * role / permission / everyone broadcasts, health, start/stop idempotence and (with
 * `brokerOutage`) behaviour while the broker is gone. Call it at the top level of a test file.
 *
 * @example
 * runBackendConformance({
 *   name: 'MemoryBackend',
 *   createCluster: () => {
 *     const bus = new MemoryBus()
 *     return { createBackend: () => new MemoryBackend({ bus }), subscriberCount: async (t) => bus.members(t).size }
 *   },
 * })
 */
export function runBackendConformance(options: BackendConformanceOptions): void {
  const deliveryMs = options.deliveryTimeoutMs ?? 3000;
  const outageMs = options.outageMs ?? 5000;
  const recoveryMs = options.recoveryMs ?? 3000;
  const skip = options.skip !== undefined && options.skip !== false;
  let runId = 0;

  /** A fresh cluster and `count` started nodes on it. */
  async function setup(count: number, needs: ClusterNeeds = { brokerControl: false }) {
    const cluster = await options.createCluster(needs);
    // Registered first, so it runs last: after the gateways have stopped.
    onCleanup(() => cluster.close?.());
    const run = ++runId;
    const nodes: ConformanceNode[] = [];
    for (let i = 0; i < count; i++) {
      nodes.push(await ConformanceNode.start(`conf-${run}-n${i}`, await cluster.createBackend()));
    }
    /** Waits until the broker reports `expected` node subscriptions of `topic` (when it can tell). */
    const brokerSubscribers = async (topic: string, expected: number, ms = deliveryMs) => {
      if (cluster.subscriberCount === undefined) return;
      const deadline = Date.now() + ms;
      let last = await cluster.subscriberCount(topic);
      while (last !== expected && Date.now() < deadline) {
        await sleep(20);
        last = await cluster.subscriberCount(topic);
      }
      if (last !== expected) {
        throw new Error(
          `expected ${expected} broker subscription(s) of ${topic} within ${ms} ms, saw ${last}`,
        );
      }
    };
    return { cluster, nodes, brokerSubscribers };
  }

  const waitFrame = (client: TestClient, type: string, pred: (data: unknown) => boolean = () => true) =>
    client.waitFor((f) => f.type === type && pred(f.data), deliveryMs, `a ${type} frame`);

  /** Sends a last message to `clients` and waits for it, so that anything sent before it has arrived. */
  async function flush(node: ConformanceNode, clients: TestClient[]): Promise<void> {
    const token = `flush-${Math.random()}`;
    await node.gateway.broadcastToAll('conformance.flush', { token });
    await Promise.all(
      clients.map((c) => waitFrame(c, 'conformance.flush', (d) => hasField(d, 'token', token))),
    );
    // Duplicates need not arrive in order with the last message: give them a moment to show.
    await sleep(150);
  }

  describe.skipIf(skip)(
    `${options.name}: backend conformance${skip ? ` (skipped: ${options.skip})` : ''}`,
    () => {
      it('delivers channel messages across nodes, from the server API and from clients', async () => {
        const { nodes, brokerSubscribers } = await setup(3);
        const clients = await Promise.all(nodes.map((n) => n.connect()));
        for (const c of clients) await subscribe(c, 'news');
        await brokerSubscribers('channel:news', 3);

        await nodes[0]!.gateway.broadcastToChannel('news', 'headline', { seq: 1 });
        clients[2]!.send({ type: 'publish', channel: 'news', event: 'from-client', data: { seq: 2 } });
        for (const c of clients) {
          const f = await waitFrame(c, 'headline');
          expect(f).toEqual({ type: 'headline', channel: 'news', data: { seq: 1 } });
          const g = await waitFrame(c, 'from-client');
          expect(g).toEqual({ type: 'from-client', channel: 'news', data: { seq: 2 } });
        }
      });

      it('subscribes a topic only on the nodes with local interest, once per node', async () => {
        const { nodes, cluster, brokerSubscribers } = await setup(3);
        const [a, b, c] = nodes as [ConformanceNode, ConformanceNode, ConformanceNode];
        if (cluster.subscriberCount !== undefined) {
          expect(await cluster.subscriberCount('channel:interest')).toBe(0);
        }
        const onA = await Promise.all([a.connect(), a.connect(), a.connect()]);
        for (const client of onA) await subscribe(client, 'interest');
        await brokerSubscribers('channel:interest', 1);
        const onB = await b.connect();
        await subscribe(onB, 'interest');
        await brokerSubscribers('channel:interest', 2);

        const quietBefore = c.gateway.getStats().counters.broadcasts_received;
        const bBefore = b.gateway.getStats().counters.broadcasts_received;
        await a.gateway.broadcastToChannel('interest', 'ev', { seq: 1 });
        await waitFrame(onB, 'ev');
        for (const client of onA) await waitFrame(client, 'ev');
        await flush(a, [onB, ...onA]);
        // Node C has no session on the channel: the broker must not have sent it the message.
        expect(c.gateway.getStats().counters.broadcasts_received - quietBefore).toBe(1); // the flush only
        expect(b.gateway.getStats().counters.broadcasts_received - bBefore).toBe(2); // ev + flush
        expect(framesOf(onB, 'ev')).toHaveLength(1);
      });

      it('unsubscribes a topic after the last local session leaves', async () => {
        const { nodes, brokerSubscribers } = await setup(2);
        const [a, b] = nodes as [ConformanceNode, ConformanceNode];
        // What a node holds with no session: the everyone-broadcast and the control topics.
        const idleTopics = b.gateway.getStats().backend_topics;
        const first = await b.connect();
        const second = await b.connect();
        await subscribe(first, 'leaving');
        await subscribe(second, 'leaving');
        await brokerSubscribers('channel:leaving', 1);

        await unsubscribe(first, 'leaving');
        await a.gateway.broadcastToChannel('leaving', 'ev', { seq: 1 });
        await waitFrame(second, 'ev');
        await brokerSubscribers('channel:leaving', 1);

        second.close();
        await second.waitClose();
        await brokerSubscribers('channel:leaving', 0);
        await waitUntil(
          () => b.gateway.getStats().backend_topics === idleTopics,
          deliveryMs,
          'B to hold only the topics of an idle node',
        );
        const before = b.gateway.getStats().counters.broadcasts_received;
        await a.gateway.broadcastToChannel('leaving', 'ev', { seq: 2 });
        await flush(a, [first]);
        expect(b.gateway.getStats().counters.broadcasts_received - before).toBe(1); // the flush only
        expect(framesOf(first, 'ev')).toHaveLength(0);
      });

      it('delivers exactly once to every session, the publisher node included', async () => {
        const { nodes, brokerSubscribers } = await setup(2);
        const [a, b] = nodes as [ConformanceNode, ConformanceNode];
        const clients = [await a.connect(), await a.connect(), await b.connect(), await b.connect()];
        for (const c of clients) await subscribe(c, 'once');
        await brokerSubscribers('channel:once', 2);
        // Subscribing twice is idempotent: still one delivery per message.
        await subscribe(clients[0]!, 'once');

        await a.gateway.broadcastToChannel('once', 'ev', { seq: 1 });
        clients[2]!.send({ type: 'publish', channel: 'once', event: 'ev', data: { seq: 2 } });
        for (const c of clients) {
          await waitFrame(c, 'ev', (d) => hasField(d, 'seq', 1));
          await waitFrame(c, 'ev', (d) => hasField(d, 'seq', 2));
        }
        await flush(a, clients);
        await flush(b, clients);
        for (const c of clients) expect(seqsOf(c, 'ev').sort()).toEqual([1, 2]);
      });

      it('keeps the order of each publisher', async () => {
        const { nodes, brokerSubscribers } = await setup(3);
        const [a, b, c] = nodes as [ConformanceNode, ConformanceNode, ConformanceNode];
        const watcher = await c.connect();
        const local = await a.connect();
        await subscribe(watcher, 'ordered');
        await subscribe(local, 'ordered');
        await brokerSubscribers('channel:ordered', 2);
        const publisher = await b.connect();
        const count = 200;
        const sends: Promise<number>[] = [];
        for (let seq = 0; seq < count; seq++) {
          // Not awaited one by one: the backend sees them back to back, as under load.
          sends.push(a.gateway.broadcastToChannel('ordered', 'ev', { from: 'server', seq }));
          publisher.send({ type: 'publish', channel: 'ordered', event: 'ev', data: { from: 'client', seq } });
        }
        await Promise.all(sends);
        const expected = Array.from({ length: count }, (_, i) => i);
        for (const client of [watcher, local]) {
          await waitUntil(
            () => framesOf(client, 'ev').length >= 2 * count,
            deliveryMs * 2,
            `${2 * count} messages`,
          );
          expect(seqsOf(client, 'ev', 'server')).toEqual(expected);
          expect(seqsOf(client, 'ev', 'client')).toEqual(expected);
        }
      });

      it('carries channel names with every allowed character, each to its own subscribers only', async () => {
        const { nodes, brokerSubscribers } = await setup(3);
        const [a, b, c] = nodes as [ConformanceNode, ConformanceNode, ConformanceNode];
        // Names that differ in one character go to different nodes: a backend that folds case or
        // maps one character onto another sends a node traffic for a channel it never subscribed.
        const groups = [
          CHANNEL_NAMES.filter((_, i) => i % 2 === 0),
          CHANNEL_NAMES.filter((_, i) => i % 2 === 1),
        ];
        const receivers = [await b.connect(), await c.connect()];
        for (const [i, names] of groups.entries()) {
          for (const name of names) await subscribe(receivers[i]!, name);
          for (const name of names) await brokerSubscribers(`channel:${name}`, 1);
        }
        const before = [b, c].map((n) => n.gateway.getStats().counters.broadcasts_received);
        const sender = await a.connect();
        for (const name of CHANNEL_NAMES) {
          await a.gateway.broadcastToChannel(name, 'named', { name });
          sender.send({ type: 'publish', channel: name, event: 'named', data: { name } });
        }
        for (const [i, names] of groups.entries()) {
          await waitUntil(
            () => framesOf(receivers[i]!, 'named').length >= 2 * names.length,
            deliveryMs,
            'a message on every channel',
          );
        }
        await flush(a, receivers);
        for (const [i, names] of groups.entries()) {
          const got = framesOf(receivers[i]!, 'named').map(
            (f) => `${f.channel} <- ${(f.data as { name: string }).name}`,
          );
          expect(got.sort()).toEqual(names.flatMap((n) => [`${n} <- ${n}`, `${n} <- ${n}`]).sort());
          const received = [b, c][i]!.gateway.getStats().counters.broadcasts_received - before[i]!;
          expect(received).toBe(2 * names.length + 1); // + the flush
        }
      });

      it('keeps tenants apart across nodes', async () => {
        const { nodes, brokerSubscribers } = await setup(2);
        const [a, b] = nodes as [ConformanceNode, ConformanceNode];
        const acmeA = await a.connect({ tenant: 'acme' });
        const acmeB = await b.connect({ tenant: 'acme' });
        const globexB = await b.connect({ tenant: 'globex' });
        for (const c of [acmeA, acmeB, globexB]) await subscribe(c, 'news');
        await brokerSubscribers('channel:tenant:acme:news', 2);
        await brokerSubscribers('channel:tenant:globex:news', 1);
        await brokerSubscribers('tenant:acme', 2);
        await brokerSubscribers('tenant:globex', 1);

        acmeA.send({ type: 'publish', channel: 'news', event: 'acme-news', data: { seq: 1 } });
        await a.gateway.broadcastToChannel('news', 'globex-news', { seq: 2 }, { tenantId: 'globex' });
        await a.gateway.broadcastToTenant('acme', 'acme-wide', { seq: 3 });
        expect(await waitFrame(acmeB, 'acme-news')).toEqual({
          type: 'acme-news',
          channel: 'news',
          data: { seq: 1 },
        });
        await waitFrame(acmeA, 'acme-news');
        expect(await waitFrame(globexB, 'globex-news')).toEqual({
          type: 'globex-news',
          channel: 'news',
          data: { seq: 2 },
        });
        await waitFrame(acmeA, 'acme-wide');
        await waitFrame(acmeB, 'acme-wide');
        await flush(a, [acmeA, acmeB, globexB]);
        expect(framesOf(globexB, 'acme-news')).toHaveLength(0);
        expect(framesOf(globexB, 'acme-wide')).toHaveLength(0);
        expect(framesOf(acmeA, 'globex-news')).toHaveLength(0);
        expect(framesOf(acmeB, 'globex-news')).toHaveLength(0);
      });

      it('broadcasts to users, tenants, roles, permissions and everyone across nodes', async () => {
        const { nodes, brokerSubscribers } = await setup(3);
        const [a, b, c] = nodes as [ConformanceNode, ConformanceNode, ConformanceNode];
        const admin = { roles: ['admin'], permissions: ['billing:read'] };
        const u1a = await a.connect({ tenant: 'acme', identity: { userId: 'u1', ...admin } });
        const u1b = await b.connect({ tenant: 'acme', identity: { userId: 'u1', ...admin } });
        const u2b = await b.connect({ tenant: 'acme', identity: { userId: 'u2', roles: ['viewer'] } });
        const u3c = await c.connect({ tenant: 'globex', identity: { userId: 'u3', ...admin } });
        const anon = await b.connect();
        const all = { u1a, u1b, u2b, u3c, anon };
        await brokerSubscribers('user:u1', 2);
        await brokerSubscribers('user:u2', 1);
        await brokerSubscribers('tenant:acme', 2);
        await brokerSubscribers('tenant:globex', 1);
        // A broker that cannot count its subscriptions: probe each route until it delivers, so
        // that the broadcasts below do not race the nodes' user and tenant subscriptions.
        await waitRoute(u1a, (t) => c.gateway.broadcastToUser('u1', 'probe', { token: t }));
        await waitRoute(u1b, (t) => c.gateway.broadcastToUser('u1', 'probe', { token: t }));
        await waitRoute(u2b, (t) => c.gateway.broadcastToUser('u2', 'probe', { token: t }));
        await waitRoute(u1a, (t) => c.gateway.broadcastToTenant('acme', 'probe', { token: t }));
        await waitRoute(u3c, (t) => a.gateway.broadcastToTenant('globex', 'probe', { token: t }));

        await c.gateway.broadcastToUser('u1', 'to-user', { seq: 1 });
        await c.gateway.broadcastToTenant('acme', 'to-tenant', { seq: 2 });
        await a.gateway.broadcastToRole('admin', 'to-role', { seq: 3 });
        await a.gateway.broadcastToRole('admin', 'to-role-acme', { seq: 4 }, { tenantId: 'acme' });
        await b.gateway.broadcastToPermission('billing:read', 'to-permission', { seq: 5 });
        await c.gateway.broadcastToAll('to-all', { seq: 6 });
        await b.gateway.broadcastToAll('to-all-globex', { seq: 7 }, { tenantId: 'globex' });
        await b.gateway.broadcastToUser('u1', 'to-user-globex', { seq: 8 }, { tenantId: 'globex' });

        const expected: Record<string, (keyof typeof all)[]> = {
          'to-user': ['u1a', 'u1b'],
          'to-tenant': ['u1a', 'u1b', 'u2b'],
          'to-role': ['u1a', 'u1b', 'u3c'],
          'to-role-acme': ['u1a', 'u1b'],
          'to-permission': ['u1a', 'u1b', 'u3c'],
          'to-all': ['u1a', 'u1b', 'u2b', 'u3c', 'anon'],
          'to-all-globex': ['u3c'],
          'to-user-globex': [],
        };
        for (const [type, who] of Object.entries(expected)) {
          for (const name of who) await waitFrame(all[name], type);
        }
        await flush(a, Object.values(all));
        for (const [type, who] of Object.entries(expected)) {
          for (const [name, client] of Object.entries(all)) {
            const frames = framesOf(client, type);
            expect({ type, name, count: frames.length }).toEqual({
              type,
              name,
              count: who.includes(name as keyof typeof all) ? 1 : 0,
            });
            // Direct broadcasts carry no channel.
            for (const f of frames) expect(f).toEqual({ type, data: { seq: expect.any(Number) } });
          }
        }
      });

      it('reports a healthy backend under scaling_backend, in healthCheck() and GET /health', async () => {
        const { nodes } = await setup(2);
        for (const node of nodes) {
          const health = await node.gateway.healthCheck();
          expect(health.status).toBe('healthy');
          expect(health.components.scaling_backend?.status).toBe('healthy');
          const res = await fetch(`${node.httpUrl}/health`);
          expect(res.status).toBe(200);
          const body = (await res.json()) as {
            status: string;
            components: Record<string, { status: string }>;
          };
          expect(body.status).toBe('healthy');
          expect(body.components.scaling_backend?.status).toBe('healthy');
        }
      });

      describe('the cluster API over this backend (control plane)', () => {
        /** `n` nodes that have all heard each other's announcements. */
        async function announced(n: number) {
          const made = await setup(n);
          await waitUntil(
            () => made.nodes.every((x) => x.gateway.cluster.nodes().length === n),
            deliveryMs,
            'every node announced',
          );
          return made;
        }
        const user = (userId: string) => ({ identity: { userId } });

        it('info and channels sum over three nodes; a stopped node drops out of info', async () => {
          const { nodes } = await announced(3);
          const [a, b, c] = nodes as [ConformanceNode, ConformanceNode, ConformanceNode];
          await subscribe(await a.connect(user('u1')), 'room:1');
          await subscribe(await b.connect(user('u2')), 'room:1');
          await subscribe(await c.connect(user('u3')), 'room:2');
          const info = await b.gateway.cluster.info();
          expect(info.missing).toEqual([]);
          expect(info.nodes.map((x) => [x.node_id, x.sessions]).sort()).toEqual(
            [a, b, c].map((x) => [x.gateway.nodeId, 1]).sort(),
          );
          expect(await c.gateway.cluster.channels({ pattern: 'room:*' })).toEqual({
            channels: { 'room:1': { num_clients: 2 }, 'room:2': { num_clients: 1 } },
            missing: [],
          });
          await c.gateway.stop();
          await waitUntil(
            () => a.gateway.cluster.nodes().length === 2,
            4 * CONFORMANCE_ANNOUNCE_MS + deliveryMs,
            'the stopped node dropped',
          );
          expect((await a.gateway.cluster.info()).nodes.map((x) => x.node_id).sort()).toEqual(
            [a.gateway.nodeId, b.gateway.nodeId].sort(),
          );
        });

        it('disconnects a user connected to all three nodes, with 4403', async () => {
          const { nodes } = await announced(3);
          const victims = await Promise.all(nodes.map((x) => x.connect(user('victim'))));
          const other = await nodes[0]!.connect(user('other'));
          await nodes[1]!.gateway.cluster.disconnect({ userId: 'victim' });
          for (const v of victims) expect((await v.waitClose(deliveryMs)).code).toBe(4403);
          await sleep(100);
          expect(other.closed).toBeNull();
        });

        it('subscribes a user whose sessions sit on two nodes, and unsubscribes it', async () => {
          const { nodes } = await announced(3);
          const [a, b, c] = nodes as [ConformanceNode, ConformanceNode, ConformanceNode];
          const s1 = await a.connect(user('amy'));
          const s2 = await b.connect(user('amy'));
          await c.gateway.cluster.subscribe({ userId: 'amy' }, 'alerts');
          for (const s of [s1, s2]) await waitFrame(s, 'subscribed', () => true);
          await c.gateway.broadcastToChannel('alerts', 'alert', { n: 1 });
          for (const s of [s1, s2]) await waitFrame(s, 'alert');
          await a.gateway.cluster.unsubscribe({ userId: 'amy' }, 'alerts');
          for (const s of [s1, s2]) await waitFrame(s, 'unsubscribed');
          await c.gateway.broadcastToChannel('alerts', 'alert', { n: 2 });
          await sleep(200);
          for (const s of [s1, s2]) expect(framesOf(s, 'alert')).toHaveLength(1);
        });
      });

      it('starts and stops idempotently', async () => {
        const cluster = await options.createCluster({ brokerControl: false });
        onCleanup(() => cluster.close?.());
        const backend = await cluster.createBackend();
        const other = await cluster.createBackend();
        onCleanup(() => backend.stop());
        onCleanup(() => other.stop());
        await backend.stop(); // before start: nothing to do
        const got: string[] = [];
        const deliver = (topic: string, payload: Uint8Array) => {
          got.push(`${topic}=${Buffer.from(payload).toString()}`);
        };
        await backend.start(deliver);
        await backend.start(deliver);
        await other.start(() => undefined);
        await backend.subscribe('idem');
        if (cluster.subscriberCount !== undefined) expect(await cluster.subscriberCount('idem')).toBe(1);
        await other.publish('idem', Buffer.from('one'));
        await other.publish('idem', Buffer.from('two'));
        await waitUntil(() => got.length >= 2, deliveryMs, 'two deliveries');
        await sleep(150);
        expect(got).toEqual(['idem=one', 'idem=two']);
        expect((await backend.health()).status).toBe('healthy');

        await backend.stop();
        await backend.stop();
        expect((await backend.health()).status).not.toBe('healthy');
        if (cluster.subscriberCount !== undefined) {
          await waitUntil(
            async () => (await cluster.subscriberCount!('idem')) === 0,
            deliveryMs,
            'no subscriber',
          );
        }
        await other.publish('idem', Buffer.from('three'));
        await sleep(150);
        expect(got).toEqual(['idem=one', 'idem=two']);
        // A stopped backend (or one never started) accepts nothing: publish rejects, never
        // resolves as if the message had gone out.
        await expect(backend.publish('idem', Buffer.from('after stop'))).rejects.toBeInstanceOf(Error);
        const unstarted = await cluster.createBackend();
        await expect(unstarted.publish('idem', Buffer.from('before start'))).rejects.toBeInstanceOf(Error);

        // The gateway's own stop is idempotent too, and leaves its backend stopped.
        const { nodes } = await setup(1);
        await Promise.all([nodes[0]!.gateway.stop(), nodes[0]!.gateway.stop()]);
        await nodes[0]!.gateway.stop();
        expect((await nodes[0]!.backend.health()).status).not.toBe('healthy');
      });

      it.skipIf(!options.brokerOutage)(
        'survives a broker outage: local delivery goes on, health degrades, nothing queues without bound, all resubscribe',
        async () => {
          const { nodes, cluster, brokerSubscribers } = await setup(2, { brokerControl: true });
          if (cluster.stopBroker === undefined || cluster.startBroker === undefined) {
            throw new Error('brokerOutage needs a cluster with stopBroker and startBroker');
          }
          const [a, b] = nodes as [ConformanceNode, ConformanceNode];
          const unhandled: unknown[] = [];
          const onUnhandled = (reason: unknown) => unhandled.push(reason);
          process.on('unhandledRejection', onUnhandled);
          onCleanup(() => process.off('unhandledRejection', onUnhandled));

          const onA = await a.connect();
          const onB = await b.connect();
          await subscribe(onA, 'outage');
          await subscribe(onB, 'outage');
          await brokerSubscribers('channel:outage', 2);
          await a.gateway.broadcastToChannel('outage', 'before', { seq: 0 });
          await waitFrame(onB, 'before');
          const statsBefore = a.backend.stats?.();

          await cluster.stopBroker();
          for (const node of nodes) {
            await waitUntil(
              async () => (await node.gateway.healthCheck()).components.scaling_backend?.status !== 'healthy',
              deliveryMs,
              'the backend to report the outage',
            );
            const health = await node.gateway.healthCheck();
            expect(health.status).toBe('degraded');
            expect(['degraded', 'unhealthy']).toContain(health.components.scaling_backend?.status);
          }

          // A session may subscribe while the broker is gone: it is answered, and resubscribed later.
          const late = await b.connect();
          const lateAck = await late.request({ type: 'subscribe', channel: 'late' }, 2000);
          expect(lateAck).toMatchObject({ type: 'ack', data: { channel: 'late' } });

          // A client's publish is not acked: it is answered backend_unavailable (protocol.md
          // v1.1), and the HTTP API answers 503; local subscribers got it all the same.
          const refused = await onA.request(
            { type: 'publish', id: 'during-outage', channel: 'outage', event: 'client', data: { seq: 0 } },
            2000,
          );
          expect(refused).toEqual({
            type: 'error',
            id: 'during-outage',
            data: {
              code: 'backend_unavailable',
              message: NOT_ACCEPTED_MESSAGE,
              retry_after_ms: expect.any(Number),
            },
          });
          expect((refused.data as { retry_after_ms: number }).retry_after_ms).toBeGreaterThan(0);
          await waitFrame(onA, 'client');
          expect(await a.publishOverHttp({ channel: 'outage', type: 'http', data: { seq: 0 } })).toEqual({
            status: 503,
            body: {
              error: {
                code: 'backend_unavailable',
                message: NOT_ACCEPTED_MESSAGE,
                retry_after_ms: expect.any(Number),
              },
              delivered_local: 1,
            },
          });

          const started = Date.now();
          let seq = 0;
          let slowest = 0;
          const rejectedFromA = new Set<number>();
          const wrongRejections: unknown[] = [];
          while (Date.now() - started < outageMs && seq < 10_000) {
            seq++;
            const t0 = Date.now();
            // Every publish settles promptly: nothing waits in an unbounded queue for the broker.
            const results = await Promise.allSettled([
              a.gateway.broadcastToChannel('outage', 'during', { from: 'a', seq }),
              b.gateway.broadcastToChannel('outage', 'during', { from: 'b', seq }),
            ]);
            slowest = Math.max(slowest, Date.now() - t0);
            for (const r of results) {
              if (r.status === 'fulfilled') continue;
              const e = r.reason as unknown;
              // Rejected as unavailable, with the one local subscriber still served.
              if (
                !(e instanceof BackendUnavailableError) ||
                e.deliveredLocal !== 1 ||
                !(e.retryAfterMs > 0)
              ) {
                wrongRejections.push(e);
              }
            }
            if (results[0].status === 'rejected') rejectedFromA.add(seq);
            await sleep(50);
          }
          const sent = seq;
          expect(slowest).toBeLessThan(1000);
          expect(wrongRejections).toEqual([]);
          // Local delivery never stopped.
          expect(seqsOf(onA, 'during', 'a')).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
          expect(seqsOf(onB, 'during', 'b')).toEqual(Array.from({ length: sent }, (_, i) => i + 1));

          await cluster.startBroker();
          const back = Date.now();
          await brokerSubscribers('channel:outage', 2, recoveryMs);
          await brokerSubscribers('channel:late', 1, recoveryMs);
          await waitFrameWhile(onB, a, 'outage', recoveryMs + back - Date.now());
          await waitFrameWhile(late, a, 'late', recoveryMs + back - Date.now());
          await waitFrameWhile(onA, b, 'outage', recoveryMs + back - Date.now());
          for (const node of nodes) {
            await waitUntil(
              async () => (await node.gateway.healthCheck()).status === 'healthy',
              Math.max(recoveryMs + back - Date.now(), 100),
              'the gateway to be healthy again',
            );
          }
          expect(Date.now() - back).toBeLessThanOrEqual(recoveryMs + 500);

          // Back to acks and 200s.
          expect(
            await onA.request(
              { type: 'publish', id: 'after-outage', channel: 'outage', data: { seq: -1 } },
              2000,
            ),
          ).toEqual({ type: 'ack', id: 'after-outage', data: { channel: 'outage' } });
          expect(await a.publishOverHttp({ channel: 'outage', type: 'http', data: { seq: -1 } })).toEqual({
            status: 200,
            body: { delivered_local: 1 },
          });
          // No publish was lost silently: each one from A either reached B or was rejected.
          const arrivedFromA = new Set(seqsOf(onB, 'during', 'a'));
          const silentlyLost = Array.from({ length: sent }, (_, i) => i + 1).filter(
            (n) => !arrivedFromA.has(n) && !rejectedFromA.has(n),
          );
          expect(silentlyLost).toEqual([]);

          // What was published in the outage either arrived or was counted as lost.
          if (statsBefore !== undefined) {
            const statsAfter = a.backend.stats!();
            for (const key of BACKEND_STAT_KEYS) expect(statsAfter).toHaveProperty(key);
            const dropped = statsAfter.dropped! - statsBefore.dropped!;
            const arrived = new Set(seqsOf(onB, 'during', 'a')).size;
            expect(arrived + dropped).toBeGreaterThanOrEqual(sent);
            expect(statsAfter.resubscribes!).toBeGreaterThan(statsBefore.resubscribes!);
          }
          expect(seqsOf(onB, 'during', 'a').length).toBeLessThanOrEqual(sent);
          expect(unhandled).toEqual([]);
        },
      );
    },
  );

  /** Sends probes with `send` every 100 ms until `client` receives one, within `deliveryMs`. */
  async function waitRoute(client: TestClient, send: (token: string) => Promise<unknown>) {
    const deadline = Date.now() + deliveryMs;
    const token = `route-${Math.random()}`;
    const got = () => framesOf(client, 'probe').some((f) => hasField(f.data, 'token', token));
    for (let i = 0; i < 1000 && Date.now() < deadline && !got(); i++) {
      await send(token);
      await sleep(100);
    }
    if (!got()) throw new Error(`no delivery of a probe within ${deliveryMs} ms`);
  }

  /**
   * Publishes probe messages from `node` on `channel` every 100 ms until `client` receives one,
   * within `ms`: cross-node delivery works again.
   */
  async function waitFrameWhile(client: TestClient, node: ConformanceNode, channel: string, ms: number) {
    const deadline = Date.now() + Math.max(ms, 100);
    const token = `probe-${Math.random()}`;
    for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
      try {
        await node.gateway.broadcastToChannel(channel, 'probe', { token });
      } catch (error) {
        // The node's publishing connection may come back after its subscribing one: refused
        // as unavailable until then, and probed again.
        if (!(error instanceof BackendUnavailableError)) throw error;
      }
      if (framesOf(client, 'probe').some((f) => hasField(f.data, 'token', token))) return;
      await sleep(100);
      if (framesOf(client, 'probe').some((f) => hasField(f.data, 'token', token))) return;
    }
    throw new Error(`no cross-node delivery on ${channel} within ${ms} ms of the broker's return`);
  }
}

function hasField(data: unknown, key: string, value: unknown): boolean {
  return data !== null && typeof data === 'object' && (data as Record<string, unknown>)[key] === value;
}

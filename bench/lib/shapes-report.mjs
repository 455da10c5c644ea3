// The `shapes` section's table and targets (issue 19): per shape, each server's messages and
// deliveries per second and CPU per message, beside the ws floor, Socket.IO and single-node.
import { boundNote, f, grid, pct } from './format.mjs';
import { SHAPE_SERVERS, SHAPES } from './shapes-section.mjs';
import { ratio } from './summary.mjs';

/** The servers of the section for `--servers`: each chosen one, then the two-node variants of the gateway, the floor and Socket.IO. */
export function shapeVariants(chosen) {
  const out = chosen.filter((k) => SHAPE_SERVERS[k]?.nodes === 1);
  if (chosen.includes('gateway')) out.push('gateway-redis', 'gateway-nats');
  if (chosen.includes('floor')) out.push('floor-redis', 'floor-nats');
  if (chosen.includes('socketio')) out.push('socketio-redis');
  return out;
}

/** Each two-node variant's single-node server, and what it is compared with: the floor and Socket.IO (over Redis on two nodes). */
const singleOf = (variant) => SHAPE_SERVERS[variant].kind;
const floorOf = (variant) =>
  SHAPE_SERVERS[variant].nodes === 2 ? `floor-${SHAPE_SERVERS[variant].backend}` : 'floor';
const socketIoOf = (variant) => (SHAPE_SERVERS[variant].nodes === 2 ? 'socketio-redis' : 'socketio');

const measured = (r) => r && !r.skipped && r.runs > 0;

/** What a shape is, in words. */
export function shapeLabel(name, connections) {
  const s = SHAPES[name];
  const targets = Math.max(1, Math.floor(connections / s.subscribersPerTarget));
  return s.target === 'user'
    ? `${f(targets, 0)} users, one connection each, sent to with POST /api/publish {"user_id"} (keep-alive HTTP, pipelined)`
    : `${f(targets, 0)} channels x ${s.subscribersPerTarget} subscriber${s.subscribersPerTarget > 1 ? 's' : ''}`;
}

/** The section's text: one table per shape. `shapes`: `{ shape: { variant: combined figures | { skipped } } }`. */
export function shapesText(shapes, settings) {
  let out = `\nbroadcast shapes (${f(settings.connections, 0)} connections; ${settings.publishers} publishers with up to ${settings.window} unanswered messages each, and at most ${settings.publishers * settings.window} not yet delivered; two nodes: every subscriber on node A, every publisher or HTTP request on node B, ${settings.nodeBCpu === 1 ? 'node B on CPU 1 beside the load (--shape-node-b-cpu 1)' : 'both on CPU 0'}; CPU over the publishing phase and its drain only, summed over the nodes; "servers waited": time the nodes were runnable but off their core, summed, as a share of the phase):\n`;
  for (const [name, variants] of Object.entries(shapes)) {
    out += `\n${SHAPES[name].label}: ${shapeLabel(name, settings.connections)}\n`;
    const table = [
      [
        '',
        'msgs/s',
        'deliveries/s',
        'server us/msg',
        'us/delivery',
        'CPU x floor',
        'CPU x Socket.IO',
        'CPU x 1 node',
        'msgs/s x Socket.IO',
        'node CPU ms A/B',
        'servers waited',
        'load busy',
        'load us/msg',
        'lost/dup/ooo',
      ],
    ];
    const notes = [];
    for (const [variant, r] of Object.entries(variants)) {
      const label = SHAPE_SERVERS[variant].label;
      if (!measured(r)) {
        notes.push(
          `  ${label}: not measured${r?.skipped ? `: ${r.skipped}` : ' (failed, see the log above)'}`,
        );
        continue;
      }
      const floor = variants[floorOf(variant)];
      const sio = variants[socketIoOf(variant)];
      const single = variants[singleOf(variant)];
      const two = SHAPE_SERVERS[variant].nodes === 2;
      const c = r.correctness;
      table.push([
        label,
        f(r.msgsPerSec, 0),
        f(r.deliveriesPerSec, 0),
        f(r.serverUsPerMsg, 2),
        f(r.serverUsPerDelivery, 2),
        measured(floor) ? f(ratio(r.serverUsPerMsg, floor.serverUsPerMsg), 2) : '-',
        measured(sio) ? f(ratio(r.serverUsPerMsg, sio.serverUsPerMsg), 2) : '-',
        two && measured(single) ? f(ratio(r.serverUsPerMsg, single.serverUsPerMsg), 2) : '-',
        measured(sio) ? f(ratio(r.msgsPerSec, sio.msgsPerSec), 2) : '-',
        (r.nodeCpuMs ?? []).map((x) => f(x, 0)).join('/'),
        pct(r.serverWaitShare),
        pct(r.runnerBusy),
        f(r.runnerUsPerMsg, 2),
        `${c.lost}/${c.duplicates}/${c.outOfOrder}`,
      ]);
      const bound = boundNote(r.runnerBusy, r.runnerWaitShare);
      if (bound) notes.push(`  ${label}:${bound}`);
      if (c.failures > 0)
        notes.push(
          `  ${label}: ${c.failures} failures (refused publishes, closed or unconnected subscribers)`,
        );
    }
    if (table.length > 1) out += `${grid(table)}\n`;
    if (notes.length > 0) out += `${notes.join('\n')}\n`;
  }
  return out;
}

/**
 * The targets of issue 19 as ratios of this run: with 1 subscriber per channel the gateway's
 * CPU per message at most 1.2x the floor's (and Socket.IO's); on two nodes over Redis and over
 * NATS, with 1 and 20 subscribers per channel, the summed CPU per message at most 1.5x
 * single-node's and messages/s at least 2x Socket.IO's with its Redis adapter. Beside them,
 * marked `reference`, the floor's two nodes against its one node on the same yardstick.
 */
export function shapesTargets(shapes) {
  const list = [];
  const add = (name, value, limit, atMost, runs, reference = false) => {
    const bound = runs.filter((r) => r.runnerBusy > 0.85).length > 0;
    list.push({
      name: `${name}${bound ? ' (RUNNER-BOUND)' : ''}`,
      value,
      limit,
      atMost,
      holds: value === null || value === undefined ? null : atMost ? value <= limit : value >= limit,
      ...(reference ? { reference: true } : {}),
    });
  };
  const g = (shape, v) => (measured(shapes[shape]?.[v]) ? shapes[shape][v] : null);
  const gateway = g('ch1', 'gateway');
  for (const peer of ['floor', 'socketio']) {
    const other = g('ch1', peer);
    if (gateway && other)
      add(
        `shapes, channels of 1: gateway CPU per message / ${SHAPE_SERVERS[peer].label}`,
        ratio(gateway.serverUsPerMsg, other.serverUsPerMsg),
        1.2,
        true,
        [gateway, other],
      );
  }
  for (const shape of ['ch1', 'ch20']) {
    for (const backend of ['redis', 'nats']) {
      const two = g(shape, `gateway-${backend}`);
      const one = g(shape, 'gateway');
      const sio = g(shape, 'socketio-redis');
      const what = `shapes, ${SHAPES[shape].label}, two gateways over ${backend === 'redis' ? 'Redis' : 'NATS'}`;
      if (two && one)
        add(
          `${what}: summed CPU per message / single node`,
          ratio(two.serverUsPerMsg, one.serverUsPerMsg),
          1.5,
          true,
          [two, one],
        );
      // The same yardstick on the floor's relay through the broker: not the gateway's target,
      // but what any relay reaches in this run.
      const floorTwo = g(shape, `floor-${backend}`);
      const floorOne = g(shape, 'floor');
      if (floorTwo && floorOne)
        add(
          `shapes, ${SHAPES[shape].label}, two ws floors over ${backend === 'redis' ? 'Redis' : 'NATS'}: summed CPU per message / single floor`,
          ratio(floorTwo.serverUsPerMsg, floorOne.serverUsPerMsg),
          1.5,
          true,
          [floorTwo, floorOne],
          true,
        );
      if (two && sio)
        add(
          `${what}: msgs/s / Socket.IO x2 with redis-adapter`,
          ratio(two.msgsPerSec, sio.msgsPerSec),
          2,
          false,
          [two, sio],
        );
    }
  }
  return list;
}

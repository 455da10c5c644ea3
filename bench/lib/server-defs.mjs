// The servers `pnpm bench` compares, as `startServer` takes them.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GATEWAY } from './gateway-main.mjs';

const servers = join(dirname(fileURLToPath(import.meta.url)), '..', 'servers');

export const SERVERS = {
  gateway: GATEWAY,
  floor: {
    kind: 'floor',
    label: 'ws floor',
    dialect: 'dotmac',
    path: '/ws',
    script: join(servers, 'floor-ws.mjs'),
  },
  naive: {
    kind: 'naive',
    label: 'ws naive',
    dialect: 'dotmac',
    path: '/ws',
    script: join(servers, 'naive-ws.mjs'),
  },
  socketio: {
    kind: 'socketio',
    label: 'Socket.IO',
    dialect: 'socket.io',
    path: '/socket.io/',
    script: join(servers, 'socketio.mjs'),
  },
};

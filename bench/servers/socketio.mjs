// Socket.IO with rooms, the way its documentation shows broadcasting to a room. The load
// runner's socket.io dialect sends `subscribe`, `publish` and `echo` events with acks.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { serveClient: false });
io.on('connection', (socket) => {
  socket.on('subscribe', (channel, ack) => {
    socket.join(channel);
    ack?.({ channel });
  });
  socket.on('publish', (m, ack) => {
    io.to(m.channel).emit(m.event ?? 'message', m.channel, m.data);
    ack?.({ channel: m.channel });
  });
  socket.on('echo', (data, ack) => ack?.(data));
});
http.listen(Number(process.env.PORT), '127.0.0.1');

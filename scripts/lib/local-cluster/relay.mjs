// Byte relay between a TCP port and a unix socket: how the API server, which
// runs inside the bed's own network namespace, is reached from this machine's
// 127.0.0.1. Two relays, one each side of the namespace boundary; the unix
// socket (a file in the bed's directory) is what crosses it:
//   host:  node relay.mjs tcp-to-unix 127.0.0.1 PORT SOCKET   (listens on host loopback)
//   bed:   node relay.mjs unix-to-tcp SOCKET 127.0.0.1 PORT   (listens on the socket)
// Plain JavaScript so that it starts without a TypeScript loader.
import fs from 'node:fs';
import net from 'node:net';

const [mode, a, b, c] = process.argv.slice(2);
const pipe = (client, connect) => {
  const upstream = connect();
  // Each side's end ends the other once what it sent is flushed; destroying on
  // 'close' instead cut responses short ("Premature close" in the client).
  client.pipe(upstream).pipe(client);
  const fail = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', fail);
  upstream.on('error', fail);
};

let server;
if (mode === 'tcp-to-unix') {
  server = net.createServer((s) => pipe(s, () => net.connect(c))).listen(Number(b), a);
} else if (mode === 'unix-to-tcp') {
  fs.rmSync(a, { force: true });
  server = net.createServer((s) => pipe(s, () => net.connect(Number(c), b))).listen(a);
} else {
  process.stderr.write('usage: relay.mjs tcp-to-unix HOST PORT SOCKET | unix-to-tcp SOCKET HOST PORT\n');
  process.exit(2);
}
server.on('listening', () => process.stderr.write(`relay ${mode} listening\n`));
server.on('error', (e) => {
  process.stderr.write(`relay ${mode}: ${e.message}\n`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));

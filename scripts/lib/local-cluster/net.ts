// A free TCP port on 127.0.0.1 (the kernel picks it, or the one preferred when
// it is free; closed again before use).
import net from 'node:net';

export function freePort(preferred = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', (e: NodeJS.ErrnoException) =>
      preferred && e.code === 'EADDRINUSE' ? resolve(freePort()) : reject(e),
    );
    srv.listen(preferred, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

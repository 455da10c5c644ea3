// The peer servers' stand-in for the gateway's `POST /api/publish` (to a user; the floor also to a
// channel): the same HTTP work (check the key, read and parse the JSON body, deliver, answer 200
// with a JSON body).

const AUTHORIZATION = process.env.API_KEY ? `Bearer ${process.env.API_KEY}` : null;

/** The user a connection belongs to: its URL's `?user=`, or null. */
export function userOf(url) {
  const q = url.indexOf('?');
  return q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('user');
}

/**
 * Answers `POST /api/publish`: `deliver(body)` delivers the parsed body to its target and
 * returns how many sockets got it (answered as `delivered_local`), or a promise of it (503 when
 * it rejects); anything else is a 404.
 */
export function answerPublish(req, res, deliver) {
  if (req.method !== 'POST' || req.url !== '/api/publish') {
    res.statusCode = 404;
    res.end();
    return;
  }
  if (AUTHORIZATION !== null && req.headers.authorization !== AUTHORIZATION) {
    res.statusCode = 401;
    res.end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    } catch {
      res.statusCode = 400;
      res.end();
      return;
    }
    const answer = (delivered) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ delivered_local: delivered }));
    };
    const delivered = deliver(body);
    if (typeof delivered === 'number') answer(delivered);
    else
      delivered.then(answer, () => {
        res.statusCode = 503;
        res.end();
      });
  });
}

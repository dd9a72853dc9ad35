// A stand-in of Meta's Graph API for the browser tests (nothing here
// reaches Meta): POST /{version}/{dataset}/events answers 200 with
// events_received, or 400 with Meta's error shape when an event's click id
// is CLID-REJECT; GET /got lists what arrived (without the token).
import http from 'node:http';

const port = Number(process.env.GRAPH_PORT ?? 3118);
const got = [];

http
  .createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const send = (status, value) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.method === 'GET' && req.url === '/healthz') return send(200, { ok: true });
      if (req.method === 'GET' && req.url === '/got') return send(200, got);
      if (req.method !== 'POST' || !/^\/[^/]+\/[^/]+\/events$/.test(req.url ?? '')) {
        return send(404, { error: { message: 'not found' } });
      }
      let parsed = {};
      try {
        parsed = JSON.parse(body);
      } catch {}
      const data = Array.isArray(parsed.data) ? parsed.data : [];
      got.push({ path: req.url, test_event_code: parsed.test_event_code ?? null, data });
      if (data.some((e) => e?.user_data?.ctwa_clid === 'CLID-REJECT')) {
        return send(400, {
          error: { message: 'Invalid parameter: ctwa_clid is not valid (e2e)', error_subcode: 2804050, fbtrace_id: 'E2E-T2' },
        });
      }
      send(200, { events_received: data.length, fbtrace_id: 'E2E-T1' });
    });
  })
  .listen(port, '127.0.0.1');

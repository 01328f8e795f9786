// The demo's billing API: the kind of internal service a pipeline calls with a bearer token kept in a CI
// variable. It answers only requests that carry its token, which only the gateway is given.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const CUSTOMER = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', ssn: '536-22-4711', plan: 'enterprise' };

export async function startBillingApi() {
  const token = `billing-token-${randomBytes(12).toString('hex')}`;
  /** The requests the API served, in order: what actually happened, whatever the job was told. */
  const served = [];
  const server = createServer((req, res) => {
    const answer = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${token}`) return answer(401, { error: 'missing or wrong API token' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (piece) => (body += piece));
    req.on('end', () => {
      const request = `${req.method} ${req.url}`;
      if (request === 'GET /v1/customers/1') {
        served.push(request);
        return answer(200, CUSTOMER);
      }
      if (request === 'POST /v1/payments') {
        const { payment_amount: amount } = JSON.parse(body);
        served.push(`${request} (${amount})`);
        return answer(201, { id: `pay_${served.filter((r) => r.startsWith('POST')).length}`, customer: 1, payment_amount: amount });
      }
      if (request === 'DELETE /v1/customers/1') {
        served.push(request);
        return res.writeHead(204).end();
      }
      answer(404, { error: 'not found' });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    token,
    served,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Records a real protocol exchange with a running collector (for docs/protocol.md):
 *   BPFSCOPE_TOKEN=… node --conditions=source --import tsx bench/collector/exchange.ts ws://127.0.0.1:9700/ PID
 * Prints each message (client → as "C:", collector → as "S:"), long arrays shortened.
 */
import WebSocket from 'ws';

const [url = 'ws://127.0.0.1:9700/', pid] = process.argv.slice(2);
const token = process.env.BPFSCOPE_TOKEN ?? '';
const short = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.length > 4 ? [...v.slice(0, 3).map(short), `… ${v.length - 3} more`] : v.map(short);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, short(x)]));
  return v;
};
const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
const send = (m: object) => {
  console.log('C: ' + JSON.stringify(m));
  ws.send(JSON.stringify(m));
};
ws.on('open', () => {
  send({ type: 'hello', version: 1, client: 'docs' });
  send({ type: 'start', requestId: 'r1', tool: 'profile', durationSec: 1.5, options: { pid: Number(pid), frequency: 99, intervalSec: 0.5 } });
  send({ type: 'start', requestId: 'r2', tool: 'profile', durationSec: 5, options: { frequency: 5000 } });
});
ws.on('message', (d) => {
  const m = JSON.parse(d.toString());
  console.log('S: ' + JSON.stringify(short(m)));
  if (m.type === 'end') ws.close();
});

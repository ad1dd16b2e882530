// Reruns the trigger-webhook probe figures against the real webhook on
// 127.0.0.1, in front of the sandbox API server, with the production defaults. Prints a table and writes
// bench/results/webhook-hostile.md. Run: npx tsx bench/webhook-hostile.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRIGGER_PATH } from '../src/server/webhook.js';
import { matchesGlob } from '../src/trigger/image-glob.js';
import * as fixture from '../test/server/webhook-fixture.js';

const { IMAGE, NS, TOKEN } = fixture;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The sandbox with the webhook Secret, one Deployment and its Rollout; the webhook as
// `stepwise controller --webhook-secret default/stepwise-webhook -n default` serves it.
const sandbox = await fixture.startWebhookSandbox();
await fixture.resetApp(sandbox, 'app');
const webhook = await fixture.serveWebhook(sandbox, { namespaces: [NS] });
const { url, logged, post, signed } = webhook;
const { hostname, port } = new URL(url);
const imageNow = () => fixture.imageOf(sandbox);
const body = (image: string, namespace = NS) => JSON.stringify({ namespace, rollout: 'app', image });
let release = 1;
const nextImage = () => `${IMAGE}:1.${release++}.0`;
/** Status and milliseconds of a valid call, signed or with the bearer token. */
async function validCall(kind: 'hmac' | 'token'): Promise<{ status: number; ms: number }> {
  const payload = body(nextImage());
  const start = performance.now();
  const res = await post(payload, kind === 'hmac' ? signed(payload) : { authorization: `Bearer ${TOKEN}` });
  await res.text();
  return { status: res.status, ms: performance.now() - start };
}

const rows: [string, string, string][] = [];
const ms = (n: number) => (n < 10 ? `${n.toFixed(2)} ms` : `${Math.round(n)} ms`);

// --- 1. allowedImages globs ----------------------------------------------------------------------------------
{
  const pattern = `${'*a'.repeat(8)}b`;
  const image = 'a'.repeat(60);
  const runs = 1_000;
  const start = performance.now();
  for (let i = 0; i < runs; i++) matchesGlob(pattern, image);
  rows.push([
    'glob with 8 `*` against a 60-character image',
    '15.6 s (event loop blocked)',
    ms((performance.now() - start) / runs),
  ]);
  // The largest the schema allows: 32 patterns of 300 characters, against the longest valid reference.
  const patterns = Array.from({ length: 32 }, () => `${'*a'.repeat(149)}*b`);
  const longest = `${'a'.repeat(255)}:${'a'.repeat(128)}@sha256:${'a'.repeat(64)}`;
  const t = performance.now();
  patterns.some((p) => matchesGlob(p, longest));
  rows.push([
    '32 globs of 300 characters (the schema maximum) against a 455-character image, first call',
    '—',
    ms(performance.now() - t),
  ]);
}

// --- 2. replay ---------------------------------------------------------------------------------------------
{
  await fixture.resetApp(sandbox, 'app');
  const same = await fixture.replayAfterCiMovedOn(webhook, webhook, webhook);
  const replayError = ((await same.replayed.json()) as { error?: string }).error;
  const newerStays = async () => ((await imageNow()) === `${IMAGE}:1.2.0` ? 'the newer one' : 'CHANGED');
  rows.push([
    'captured signed request replayed after CI moved on',
    'accepted (202, `changed: true`): downgrade',
    `${same.replayed.status}, refused (${replayError}); image stays ${await newerStays()} (CI's releases: ${same.released.join(', ')})`,
  ]);

  // The chart's two replicas behind one Service: a second webhook with its own memory, over the same API server.
  // A second later, so the same two releases are signed anew (the first replica remembers the earlier signatures).
  await sleep(1_100);
  await fixture.resetApp(sandbox, 'app');
  const replica = await fixture.serveWebhook(sandbox, { namespaces: [NS] });
  const other = await fixture.replayAfterCiMovedOn(webhook, replica, replica);
  const otherError = ((await other.replayed.json()) as { error?: string }).error;
  rows.push([
    'captured signed request replayed to the other replica (`replicaCount: 2`)',
    'accepted (202): each replica remembered only its own signatures',
    `${other.replayed.status}, refused (${otherError}); image stays ${await newerStays()} (CI's releases: ${other.released.join(', ')})`,
  ]);

  const rounds = 10;
  const outcomes = new Map<string, number>();
  const signedMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await sleep(1_000); // each round's loser is a failed authentication: stay within that budget (10, then 1/s)
    const payload = body(nextImage());
    const headers = signed(payload);
    const start = performance.now();
    const answers = await Promise.all([post(payload, headers), replica.post(payload, headers)]);
    signedMs.push(performance.now() - start);
    const codes = answers.map((res) => res.status).sort();
    await Promise.all(answers.map((res) => res.text()));
    outcomes.set(codes.join(' + '), (outcomes.get(codes.join(' + ')) ?? 0) + 1);
  }
  signedMs.sort((x, y) => x - y);
  rows.push([
    `the same signed request sent to both replicas at once, ${rounds} times`,
    'both accepted',
    `${[...outcomes].map(([codes, n]) => `${n}× ${codes}`).join(', ')}; both answered in ${ms(signedMs[rounds / 2]!)} (median)`,
  ]);
  replica.close();
  const stalePayload = body(nextImage());
  const staleTime = Math.floor(Date.now() / 1000) - 301;
  const stale = await post(stalePayload, signed(stalePayload, staleTime));
  await stale.text();
  rows.push(['signed request 301 s old', 'accepted (no timestamp)', `${stale.status}, refused`]);
}

// --- 3. unauthenticated flood from the caller's own address -----------------------------------------------------
for (const flood of [15, 1_000]) {
  await sleep(11_000); // buckets refill: each row starts from a quiet webhook
  const codes = new Map<number, number>();
  for (let sent = 0; sent < flood; sent += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, flood - sent) }, async () => {
        const res = await post(body(`${IMAGE}:6.6.6`), { authorization: 'Bearer guess' });
        await res.text();
        return res.status;
      }),
    );
    for (const code of batch) codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  const token = await validCall('token');
  const hmac = await validCall('hmac');
  rows.push([
    `valid calls after ${flood} unauthenticated requests from the same address`,
    flood === 15 ? '429' : '—',
    `bearer ${token.status} in ${ms(token.ms)}, signed ${hmac.status} in ${ms(hmac.ms)} (flood answered ${[...codes].map(([c, n]) => `${n}× ${c}`).join(', ')})`,
  ]);
}

// --- 4. slowloris: connections trickling bodies (or headers), reconnecting as soon as they are dropped -----------
async function underSlowloris(connections: number, what: 'body' | 'headers'): Promise<string> {
  await sleep(2_000);
  let stop = false;
  const sockets = new Set<Socket>();
  const open = () => {
    if (stop) return;
    const socket = connect(Number(port), hostname);
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.resume();
    const payload = body(`${IMAGE}:6.6.6`);
    const headers = what === 'body' ? signed(payload) : {};
    socket.write(
      `POST ${TRIGGER_PATH} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-length: 1000\r\n` +
        Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('') +
        (what === 'body' ? '\r\n{' : 'x-trickle: '),
    );
    const drip = setInterval(() => socket.write('a'), 1_000);
    socket.on('close', () => {
      clearInterval(drip);
      sockets.delete(socket);
      setTimeout(open, 10);
    });
  };
  for (let i = 0; i < connections; i++) open();
  await sleep(3_000);
  const hmac = await validCall('hmac');
  const token = await validCall('token');
  await sleep(12_000); // past the body and headers timeouts: the attackers have been dropped and came back
  const later = await validCall('hmac');
  stop = true;
  for (const s of sockets) s.destroy();
  return `signed ${hmac.status} in ${ms(hmac.ms)}, bearer ${token.status} in ${ms(token.ms)}; 15 s later signed ${later.status} in ${ms(later.ms)}`;
}
rows.push([
  'time to serve a valid call while 10 connections trickle signed bodies',
  'not served for 140 s',
  await underSlowloris(10, 'body'),
]);
rows.push([
  'time to serve a valid call while 100 connections trickle signed bodies',
  '—',
  await underSlowloris(100, 'body'),
]);
rows.push([
  'time to serve a valid call while 100 connections trickle headers',
  '—',
  await underSlowloris(100, 'headers'),
]);

// --- 5. malformed images -----------------------------------------------------------------------------------
{
  await sleep(11_000);
  const malformed = [
    'repo@',
    'repo:',
    'repo@sha256:',
    `${IMAGE}:1.3.0@evil.example.com/x:latest`,
    `${IMAGE}:1\u0000`,
    `${IMAGE}:${'1'.repeat(5000)}`,
  ];
  const before = await imageNow();
  const codes: number[] = [];
  for (const image of malformed) {
    const res = await post(body(image), { authorization: `Bearer ${TOKEN}` });
    await res.text();
    codes.push(res.status);
  }
  const accepted = codes.filter((c) => c === 202).length;
  rows.push([
    'malformed images (`repo@`, `repo:`, `repo@sha256:`, a second reference as digest, NUL, a 5,000-character tag)',
    '6 of 6 accepted and written',
    `${accepted} of ${malformed.length} accepted (${codes.join(', ')}); Deployment ${(await imageNow()) === before ? 'unchanged' : 'CHANGED'}`,
  ]);
  const other = await post(body(nextImage(), 'kube-system'), { authorization: `Bearer ${TOKEN}` });
  await other.text();
  rows.push([
    'a Rollout in a namespace the controller does not watch',
    'triggered',
    `${other.status}, refused`,
  ]);
}

// --- 6. a client that disconnects mid-body -----------------------------------------------------------------
{
  await sleep(2_000); // the slowloris connections of the rows above have closed
  const from = logged.length;
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  socket.write(
    `POST ${TRIGGER_PATH} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-length: 100\r\nauthorization: Bearer ${TOKEN}\r\n\r\n{`,
  );
  await sleep(200);
  socket.destroy();
  await sleep(500);
  const lines = logged.slice(from);
  const failures = lines.filter((l) => l.includes('"status":500')).length;
  const disconnects = lines.filter((l) => l.includes('disconnected before it was answered')).length;
  rows.push([
    'a client disconnecting mid-body',
    'logged as a webhook failure, status 500',
    `${disconnects} disconnect line, ${failures} lines with status 500`,
  ]);
}

webhook.close();
await sandbox.server.close();

const table = [
  '| figure | before the fix | now |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const text = `# The trigger webhook against hostile input

The probe figures, rerun with \`npx tsx bench/webhook-hostile.ts\` (${new Date().toISOString().slice(0, 10)}): the real webhook on
127.0.0.1 with its production defaults (10 s body and headers timeouts, 32 unauthenticated body slots, 10 + 1/s
per address for authenticated and for unauthenticated callers apart, 300 s signature window), in front of the
sandbox API server. Every attacker shares the valid caller's address, as behind an Ingress.

${table}
`;
console.log(text);
const out = join(ROOT, 'bench/results/webhook-hostile.md');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, text);
process.exit(0);

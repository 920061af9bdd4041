// Benchmark reader for frontail: many socket.io-client@2 connections, one process.
// Run by bench/run.py, never by hand. Mirrors bench/sse_client.py: each benchmark line
// reads "<seq> <write monotonic ns> <padding>"; frontail sends every new line of the file
// as a socket.io event named "line" on the namespace "/" + md5(file arguments joined by
// " "). Talks to the parent as JSON lines on stdout ("ready", then "done"); a line "stop"
// on stdin or the deadline ends the run. Latencies (float64 ns) go to --out.
'use strict';

const fs = require('fs');
const readline = require('readline');

function parseArgs(argv) {
  const args = { conns: 1, mode: 'latency', deadline: 120, concurrency: 64, modules: '' };
  for (let i = 2; i < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  for (const key of ['conns', 'expect', 'deadline', 'concurrency']) {
    args[key] = Number(args[key]);
  }
  return args;
}

const args = parseArgs(process.argv);
const io = require(require.resolve('socket.io-client', { paths: [args.modules] }));

function say(fields) {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

const stats = {
  lines: 0,
  gaps: 0,
  dups: 0,
  firstNs: 0n,
  lastNs: 0n,
  connected: 0,
  failed: 0,
  complete: 0,
};
let latencies = new Float64Array(1 << 16);
let nLat = 0;
const sockets = [];
const started = process.hrtime.bigint();
let finished = false;

function record(value) {
  if (nLat === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[nLat] = value;
  nLat += 1;
}

function finish(how) {
  if (finished) return;
  finished = true;
  for (const s of sockets) s.close();
  fs.writeFileSync(args.out, Buffer.from(latencies.buffer, 0, nLat * 8));
  say({
    event: 'done',
    how,
    connected: stats.connected,
    lines: stats.lines,
    complete: stats.complete,
    gaps: stats.gaps,
    dups: stats.dups,
    first_ns: Number(stats.firstNs),
    last_ns: Number(stats.lastNs),
    cpu_seconds: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
  });
  setTimeout(() => process.exit(0), 50);
}

function watch(socket) {
  const countOnly = args.mode === 'count';
  let nextSeq = 0;
  let received = 0;
  socket.on('line', (line) => {
    const now = process.hrtime.bigint();
    if (stats.firstNs === 0n) stats.firstNs = now;
    stats.lastNs = now;
    if (!countOnly) {
      const first = line.indexOf(' ');
      const second = line.indexOf(' ', first + 1);
      if (first <= 0 || second <= first) return;
      const seq = Number(line.slice(0, first));
      record(Number(now - BigInt(line.slice(first + 1, second))));
      if (seq === nextSeq) nextSeq = seq + 1;
      else if (seq > nextSeq) {
        stats.gaps += seq - nextSeq;
        nextSeq = seq + 1;
      } else stats.dups += 1;
    }
    stats.lines += 1;
    received += 1;
    if (received === args.expect) {
      stats.complete += 1;
      if (stats.complete >= stats.connected) finish('complete');
    }
  });
}

function connectOne() {
  return new Promise((resolve) => {
    const socket = io(`${args.url}/${args.namespace}`, {
      forceNew: true,
      reconnection: false,
      transports: ['websocket'],
      timeout: 20000,
    });
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      if (ok) {
        stats.connected += 1;
        sockets.push(socket);
        watch(socket);
      } else {
        stats.failed += 1;
        socket.close();
      }
      resolve();
    };
    // frontail sends "options:lines" first thing on connection: the socket is then
    // a member of the namespace and receives every later "line".
    socket.once('options:lines', () => settle(true));
    socket.once('connect_error', () => settle(false));
    socket.once('connect_timeout', () => settle(false));
    socket.once('error', () => settle(false));
  });
}

async function main() {
  let next = 0;
  const worker = async () => {
    while (next < args.conns) {
      next += 1;
      await connectOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.concurrency, args.conns) }, worker));
  say({
    event: 'ready',
    connected: stats.connected,
    failed: stats.failed,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  });
  if (stats.connected === 0) finish('deadline');
  setTimeout(() => finish('deadline'), args.deadline * 1000);
  readline.createInterface({ input: process.stdin }).on('line', (text) => {
    if (text.trim() === 'stop') finish('stop');
  });
  process.stdin.on('end', () => finish('stop'));
}

main();

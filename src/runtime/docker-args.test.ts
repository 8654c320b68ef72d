import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataVolumeArgs, dataVolumeLsArgs, dataVolumeName, ipArgs, killArgs, lbRunArgs, parseIpUrls, parsePs, pauseArgs, psArgs, serverRunArgs, unpauseArgs, unpauseNeedless, volumeName } from './docker-args.js';

test('a server runs on the cluster network under its own name, labelled, never published', () => {
  const a = serverRunArgs({ cluster: 'c1', server: 'Server3', network: 'shardctl-c1', image: 'shardctl-server:1' });
  assert.deepEqual(a.slice(0, 2), ['run', '-d']);
  const at = (flag: string) => a[a.indexOf(flag) + 1];
  assert.equal(at('--name'), 'shardctl-c1--Server3');
  // the LB's heartbeats are its health check; docker's would start a node process every 30 s in each server
  assert.ok(a.includes('--no-healthcheck'));
  assert.equal(at('--network'), 'shardctl-c1');
  assert.equal(at('--network-alias'), 'Server3');
  assert.ok(a.includes('SERVER_ID=Server3'));
  assert.ok(a.includes('shardctl.cluster=c1') && a.includes('shardctl.role=server') && a.includes('shardctl.server=Server3'));
  assert.ok(!a.includes('-p'));
  assert.equal(at('-v'), 'shardctl-c1--Server3-data:/data');
  assert.ok(a.includes('SHARDCTL_DATA_DIR=/data'));
  assert.equal(a[a.length - 1], 'shardctl-server:1');
});

test('data volumes: labelled per cluster and server; names that cannot collide (table)', () => {
  const v = dataVolumeArgs('c1', 'Server3');
  assert.deepEqual(v.slice(0, 2), ['volume', 'create']);
  assert.equal(v[v.length - 1], 'shardctl-c1--Server3-data');
  assert.ok(v.includes('shardctl.cluster=c1') && v.includes('shardctl.role=data') && v.includes('shardctl.server=Server3'));
  assert.ok(dataVolumeLsArgs('c1', 'Server3').includes('label=shardctl.server=Server3'));
  assert.ok(!dataVolumeLsArgs('c1').some((x) => x.startsWith('label=shardctl.server')));
  // pairs that a naive "-" separator would confuse get distinct names; and no data volume is a metadata volume
  const names = [
    ['a', 'b-c'],
    ['a-b', 'c'],
    ['a', 'meta'],
    ['a.b', 'c'],
  ].map(([c, s]) => dataVolumeName(c, s));
  assert.equal(new Set(names).size, names.length);
  for (const c of ['a', 'a-b', 'a.b']) assert.ok(!names.includes(volumeName(c)));
});

test('the LB is published on 127.0.0.1 only, with the socket, its volume and a restart policy', () => {
  const a = lbRunArgs({ cluster: 'c1', port: 5001, image: 'shardctl-lb:1', serverImage: 'shardctl-server:1', env: { SHARDCTL_HB_MISSES: '5' }, net: 'publish' });
  const at = (flag: string) => a[a.indexOf(flag) + 1];
  assert.equal(at('-p'), '127.0.0.1:5001:5000');
  assert.equal(at('--network'), 'shardctl-c1');
  assert.ok(a.includes('HOST=0.0.0.0') && a.includes('PORT=5000') && !a.some((x) => x.startsWith('SHARDCTL_SERVER_ADDR')));
  assert.equal(at('--restart'), 'unless-stopped');
  assert.ok(a.includes('/var/run/docker.sock:/var/run/docker.sock'));
  assert.ok(a.includes('shardctl-c1-meta:/data'));
  for (const e of ['SHARDCTL_RUNTIME=docker', 'SHARDCTL_CLUSTER=c1', 'SHARDCTL_NETWORK=shardctl-c1', 'SHARDCTL_SERVER_IMAGE=shardctl-server:1', 'SHARDCTL_HB_MISSES=5'])
    assert.ok(a.includes(e), e);
  assert.equal(a[a.length - 1], 'shardctl-lb:1');
});

test('by default the LB shares the host network, listens on 127.0.0.1:<port> itself and reaches servers by address', () => {
  const a = lbRunArgs({ cluster: 'c1', port: 5001, image: 'shardctl-lb:1', serverImage: 'shardctl-server:1' });
  const at = (flag: string) => a[a.indexOf(flag) + 1];
  assert.equal(at('--network'), 'host');
  assert.ok(!a.includes('-p'), 'nothing to publish');
  for (const e of ['HOST=127.0.0.1', 'PORT=5001', 'SHARDCTL_SERVER_ADDR=ip', 'SHARDCTL_NETWORK=shardctl-c1']) assert.ok(a.includes(e), e);
  assert.equal(at('--restart'), 'unless-stopped');
});

test('ps filters by the cluster label and parses its own format', () => {
  const a = psArgs('c1', 'server');
  assert.ok(a.includes('label=shardctl.cluster=c1') && a.includes('label=shardctl.role=server') && a.includes('-a'));
  assert.deepEqual(parsePs('abc\tshardctl-c1-Server0\trunning\tServer0\tserver\n\n'), [
    { id: 'abc', container: 'shardctl-c1-Server0', state: 'running', server: 'Server0', role: 'server' },
  ]);
});

test('server addresses: one inspect for several containers, parsed to URLs in order; anything else is refused', () => {
  assert.deepEqual(ipArgs('shardctl-c1', ['a1', 'b2']), ['inspect', '-f', '{{(index .NetworkSettings.Networks "shardctl-c1").IPAddress}}', 'a1', 'b2']);
  assert.deepEqual(parseIpUrls('192.168.0.3\n192.168.0.7\n', 5000), ['http://192.168.0.3:5000', 'http://192.168.0.7:5000']);
  assert.deepEqual(parseIpUrls('fd00::3\n', 5000), ['http://[fd00::3]:5000']);
  assert.equal(parseIpUrls('<no value>\n', 5000), undefined);
});

test('pause, unpause and kill take container ids; an unpause of a container gone or not paused needs no retry', () => {
  assert.deepEqual(pauseArgs(['a1', 'b2']), ['pause', 'a1', 'b2']);
  assert.deepEqual(unpauseArgs(['a1']), ['unpause', 'a1']);
  assert.deepEqual(killArgs(['a1', 'b2']), ['kill', 'a1', 'b2']);
  assert.equal(unpauseNeedless('Error response from daemon: Container a1 is not paused'), true);
  assert.equal(unpauseNeedless('Error response from daemon: No such container: a1'), true);
  assert.equal(unpauseNeedless('Error response from daemon: Container a1 is not running'), true);
  assert.equal(unpauseNeedless('Cannot connect to the Docker daemon at unix:///var/run/docker.sock'), false);
});

/**
 * `shardctl build`: the server and LB images, online or offline. The base image is node:20-bookworm-slim when
 * the engine has it or can pull it; otherwise one is made from this host's node binary and the shared libraries
 * `ldd` lists, with `docker import`. The docker CLI for the LB image likewise comes from docker:cli or from the host.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docker, imageExists } from '../runtime/docker-cli.js';
import { ExitError } from './errors.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let buildTag: string | undefined;
/**
 * The images' tag: the version and a hash of what goes into them (the compiled app, the Dockerfiles, the
 * lockfile), so a changed build gets a new tag and `up` never runs a stale image: it builds the new one.
 */
export function imageTag(): string {
  if (buildTag) return buildTag;
  const h = createHash('sha256');
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.endsWith('.map') && !p.endsWith('.test.js')) h.update(`${p.slice(ROOT.length)}\0`).update(readFileSync(p));
    }
  };
  walk(join(ROOT, 'dist/src'));
  for (const f of ['Dockerfile.server', 'Dockerfile.lb', 'package-lock.json']) if (existsSync(join(ROOT, f))) h.update(f).update(readFileSync(join(ROOT, f)));
  return (buildTag = `${VERSION}-${h.digest('hex').slice(0, 12)}`);
}
export const serverImage = () => `shardctl-server:${imageTag()}`;
export const lbImage = () => `shardctl-lb:${imageTag()}`;
export const ONLINE_BASE = 'node:20-bookworm-slim';
export const ONLINE_DOCKER_CLI = 'docker:cli';
const HOST_BASE = `shardctl-base:node${process.versions.node}`;
const HOST_DOCKER_CLI = `shardctl-dockercli:${VERSION}`;

export type Progress = (msg: string) => void;

async function tryPull(ref: string, progress: Progress): Promise<boolean> {
  if (process.env.SHARDCTL_OFFLINE === '1') return false;
  progress(`pulling ${ref} ...`);
  try {
    await docker(['pull', '-q', ref], { timeoutMs: 180_000 });
    return true;
  } catch (e) {
    progress(`cannot pull ${ref} (${(e as Error).message.split('\n')[0].slice(0, 120)}): building from this host instead`);
    return false;
  }
}

async function ldd(bin: string): Promise<string[]> {
  const r = await execa('ldd', [bin], { reject: false });
  if (r.exitCode !== 0) return []; // static binary
  return [...String(r.stdout).matchAll(/(\/[^\s)]+)/g)].map((m) => m[1]);
}

/** Imports a rootfs holding `files` (host paths, copied to the same path) as image `tag`. */
async function importRootfs(tag: string, files: { from: string; to: string }[], progress: Progress): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'shardctl-rootfs-'));
  try {
    for (const d of ['tmp', 'etc', 'app', 'data', 'usr/local/bin', 'lib64']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
    writeFileSync(join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    for (const f of files) {
      mkdirSync(join(root, dirname(f.to)), { recursive: true });
      cpSync(realpathSync(f.from), join(root, f.to));
    }
    const tar = join(tmpdir(), `shardctl-rootfs-${process.pid}.tar`);
    await execa('tar', ['-C', root, '-cf', tar, '.']);
    progress(`docker import ${tag} (${files.length} files from this host)`);
    await docker(['import', '-c', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '-c', 'WORKDIR /app', tar, tag], { timeoutMs: 300_000 });
    rmSync(tar, { force: true });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The base image to build FROM: the official one if present or pullable, else one made from this host's node. */
export async function ensureBaseImage(progress: Progress): Promise<string> {
  const wanted = process.env.SHARDCTL_BASE_IMAGE;
  if (wanted) return wanted;
  if (await imageExists(ONLINE_BASE)) return ONLINE_BASE;
  if (await imageExists(HOST_BASE)) return HOST_BASE;
  if (await tryPull(ONLINE_BASE, progress)) return ONLINE_BASE;
  const node = realpathSync(process.execPath);
  const libs = await ldd(node);
  await importRootfs(HOST_BASE, [{ from: node, to: '/usr/local/bin/node' }, ...libs.map((l) => ({ from: l, to: l }))], progress);
  return HOST_BASE;
}

/** An image holding a docker CLI at /usr/local/bin/docker. */
export async function ensureDockerCliImage(progress: Progress): Promise<string> {
  if (await imageExists(ONLINE_DOCKER_CLI)) return ONLINE_DOCKER_CLI;
  if (await imageExists(HOST_DOCKER_CLI)) return HOST_DOCKER_CLI;
  if (await tryPull(ONLINE_DOCKER_CLI, progress)) return ONLINE_DOCKER_CLI;
  const r = await execa('sh', ['-c', 'command -v docker'], { reject: false });
  const bin = String(r.stdout).trim();
  if (!bin) throw new ExitError('no docker CLI on this host to put in the LB image');
  const libs = await ldd(realpathSync(bin));
  await importRootfs(HOST_DOCKER_CLI, [{ from: bin, to: '/usr/local/bin/docker' }, ...libs.map((l) => ({ from: l, to: l }))], progress);
  return HOST_DOCKER_CLI;
}

/** The build context: the compiled app and production dependencies only (dev dependencies per the lockfile). */
export function makeContext(): string {
  if (!existsSync(join(ROOT, 'dist/src/lb/main.js'))) throw new ExitError('dist/ is missing: run `npm run build` first');
  const ctx = mkdtempSync(join(tmpdir(), 'shardctl-ctx-'));
  for (const f of ['package.json', 'package-lock.json', 'Dockerfile.server', 'Dockerfile.lb']) cpSync(join(ROOT, f), join(ctx, f));
  cpSync(join(ROOT, 'dist/src'), join(ctx, 'dist/src'), { recursive: true, filter: (s) => !s.endsWith('.map') && !s.endsWith('.test.js') });
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [p, meta] of Object.entries(lock.packages)) {
    if (!p.startsWith('node_modules/') || meta.dev) continue;
    if (p.split('node_modules/').length > 2) continue; // nested ones come with their parent
    const src = join(ROOT, p);
    if (existsSync(src)) cpSync(src, join(ctx, p), { recursive: true });
  }
  return ctx;
}

export async function buildImages(progress: Progress): Promise<{ server: string; lb: string; base: string; dockerCli: string; ms: number }> {
  const t0 = Date.now();
  // fail first, with the reason, rather than after trying registries
  await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
  const base = await ensureBaseImage(progress);
  progress(`base image: ${base}`);
  const cli = await ensureDockerCliImage(progress);
  progress(`docker CLI image: ${cli}`);
  const ctx = makeContext();
  const env = { DOCKER_BUILDKIT: '0' };
  try {
    for (const [file, tag, extra] of [
      ['Dockerfile.server', serverImage(), [] as string[]],
      ['Dockerfile.lb', lbImage(), ['--build-arg', `DOCKER_CLI_IMAGE=${cli}`]],
    ] as const) {
      progress(`building ${tag} from ${file}`);
      await docker(['build', '-f', join(ctx, file), '--build-arg', `BASE_IMAGE=${base}`, ...extra, '-t', tag, '--label', 'shardctl.image=1', ctx], {
        timeoutMs: 600_000,
        env,
        onLine: (l) => {
          if (/^Step \d+\/\d+/.test(l)) progress(`  ${l.slice(0, 100)}`);
        },
      });
    }
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return { server: serverImage(), lb: lbImage(), base, dockerCli: cli, ms: Date.now() - t0 };
}

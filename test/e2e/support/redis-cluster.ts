import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, RedisServer } from './redis-server';

const run = promisify(execFile);

/**
 * A real Redis Cluster of three masters on loopback (Debian's redis-server, cluster
 * mode), made with `redis-cli --cluster create` and stopped with its files removed.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: RedisServer[],
    private readonly dir: string,
  ) {}

  static async start(binary: string, masters = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-cluster-'));
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        // Its cluster bus listens on port + 10000, which must exist too.
        let port = await freePort();
        while (port > 55_000) port = await freePort();
        nodes.push(await RedisServer.start(binary, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir], port));
      }
      const cli = join(binary, '..', 'redis-cli');
      await run(cli, ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 60_000 });
      // Ready when every node sees every slot served (bounded: the nodes gossip in milliseconds).
      for (let attempt = 0; ; attempt++) {
        const states = await Promise.all(nodes.map(async (node) => (await run(cli, ['-p', String(node.port), 'cluster', 'info'])).stdout));
        if (states.every((state) => state.includes('cluster_state:ok'))) break;
        if (attempt > 200) throw new Error(`the cluster did not become ready:\n${states.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return new RedisCluster(nodes, dir);
    } catch (error) {
      for (const node of nodes) await node.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get rootNodes(): Array<{ url: string }> {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

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
      const cluster = new RedisCluster(nodes, dir);
      await cluster.untilReady();
      return cluster;
    } catch (error) {
      for (const node of nodes) await node.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get rootNodes(): Array<{ url: string }> {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  /**
   * Restarts every master, empty (no persistence), as one outage: each comes back with its
   * node id and slots (its nodes-<port>.conf), and this resolves once the cluster serves
   * every slot again.
   */
  async restart(): Promise<void> {
    for (const node of this.nodes) await node.stop();
    for (const node of this.nodes) await node.restart();
    await this.untilReady();
  }

  /** Resolves when every node sees every slot served (bounded: the nodes gossip in milliseconds). */
  private async untilReady(): Promise<void> {
    const cli = join(this.nodes[0].binary, '..', 'redis-cli');
    for (let attempt = 0; ; attempt++) {
      const states = await Promise.all(this.nodes.map(async (node) => (await run(cli, ['-p', String(node.port), 'cluster', 'info'])).stdout));
      if (states.every((state) => state.includes('cluster_state:ok'))) return;
      if (attempt > 200) throw new Error(`the cluster did not become ready:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

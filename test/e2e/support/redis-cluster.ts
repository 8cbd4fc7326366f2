import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, RedisServer } from './redis-server';

const run = promisify(execFile);

/** How a cluster is made beyond its masters: replicas per master, and how soon a node that does not answer counts as failed. */
export interface RedisClusterOptions {
  /** Replicas per master (default 0): each is promoted when its master fails. */
  replicas?: number;
  /** `cluster-node-timeout`, in ms (Redis's default, 15 s, when not given). */
  nodeTimeoutMs?: number;
}

/** A node as CLUSTER NODES lists it. */
interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: Array<[number, number]>;
}

/**
 * A real Redis Cluster of three masters on loopback (Debian's redis-server, cluster
 * mode), made with `redis-cli --cluster create` and stopped with its files removed; with
 * `replicas`, each master has replicas, and a test can fail a master over to one.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: RedisServer[],
    private readonly dir: string,
  ) {}

  static async start(
    binary: string,
    masters = 3,
    { replicas = 0, nodeTimeoutMs }: RedisClusterOptions = {},
  ): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-cluster-'));
    const nodes: RedisServer[] = [];
    // A replica that lost touch with its master for a while may still be promoted.
    const failover =
      nodeTimeoutMs === undefined
        ? []
        : ['--cluster-node-timeout', String(nodeTimeoutMs), '--cluster-replica-validity-factor', '0'];
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) {
        // Its cluster bus listens on port + 10000, which must exist too.
        let port = await freePort();
        while (port > 55_000) port = await freePort();
        nodes.push(
          await RedisServer.start(
            binary,
            [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              `nodes-${port}.conf`,
              '--dir',
              dir,
              ...failover,
            ],
            port,
          ),
        );
      }
      const cli = join(binary, '..', 'redis-cli');
      await run(
        cli,
        [
          '--cluster',
          'create',
          ...nodes.map((node) => `127.0.0.1:${node.port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { timeout: 60_000 },
      );
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

  /**
   * Resolves when every node (of `nodes`) sees every slot served (bounded: the nodes gossip
   * in milliseconds). A node may keep missing a slot after a failover (two claims to it
   * with one epoch, on a busy machine): after a few seconds, each master takes a new epoch
   * (CLUSTER BUMPEPOCH), so that the owner's claim wins.
   */
  private async untilReady(nodes = this.nodes): Promise<void> {
    const started = Date.now();
    let bumped = false;
    for (;;) {
      const states = await Promise.all(nodes.map((node) => this.cli(node, 'cluster', 'info')));
      if (
        states.every(
          (state) => state.includes('cluster_state:ok') && state.includes('cluster_slots_ok:16384'),
        )
      )
        return;
      if (Date.now() - started > 30_000)
        throw new Error(
          `the cluster did not become ready:\n${states.map((state) => state.split('\n').slice(0, 3).join(' ')).join('\n')}`,
        );
      if (!bumped && Date.now() - started > 5_000) {
        bumped = true;
        const roles = await Promise.all(nodes.map((node) => this.cli(node, 'role')));
        for (const [i, role] of roles.entries())
          if (role.startsWith('master')) await this.cli(nodes[i], 'cluster', 'bumpepoch');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async cli(node: RedisServer, ...args: string[]): Promise<string> {
    return (
      await run(join(node.binary, '..', 'redis-cli'), ['-p', String(node.port), ...args], { timeout: 10_000 })
    ).stdout;
  }

  /** The master serving `key`'s slot and its replicas, as `asked` (a node that runs) sees them. */
  async shardOf(
    key: string,
    asked = this.nodes[0],
  ): Promise<{ master: RedisServer; replicas: RedisServer[] }> {
    const slot = Number((await this.cli(asked, 'cluster', 'keyslot', key)).trim());
    const lines: NodeLine[] = (await this.cli(asked, 'cluster', 'nodes'))
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
        const ranges = slots
          .filter((range) => /^\d/.test(range))
          .map((range) => range.split('-').map(Number) as [number, number]);
        return {
          id,
          port: Number(/:(\d+)@/.exec(address)![1]),
          flags: flags.split(','),
          masterId,
          slots: ranges.map(([from, to]) => [from, to ?? from] as [number, number]),
        };
      });
    const master = lines.find(
      (line) =>
        line.flags.includes('master') &&
        !line.flags.includes('fail') &&
        line.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (!master) throw new Error(`no master serves slot ${slot} of ${key}`);
    const node = (port: number) => this.nodes.find((candidate) => candidate.port === port)!;
    const replicas = lines
      .filter((line) => line.masterId === master.id && !line.flags.includes('fail'))
      .map((line) => node(line.port));
    return { master: node(master.port), replicas };
  }

  /** `key`'s shard as every node in `nodes` sees it, once they all agree. */
  private async agreedShardOf(
    key: string,
    nodes = this.nodes,
  ): Promise<{ master: RedisServer; replicas: RedisServer[] }> {
    let shard: { master: RedisServer; replicas: RedisServer[] } | undefined;
    await this.until(`the nodes agree on ${key}'s master`, async () => {
      const views = await Promise.all(nodes.map((node) => this.shardOf(key, node)));
      shard = views[0];
      const ports = (view: { replicas: RedisServer[] }) =>
        view.replicas
          .map((replica) => replica.port)
          .sort()
          .join();
      return views.every((view) => view.master === shard!.master && ports(view) === ports(shard!));
    });
    return shard!;
  }

  /** Resolves once `replica` replicates (its link to its master is up): it may be promoted then. */
  private untilReplicating(replica: RedisServer): Promise<void> {
    return this.until(`${replica.port} replicates`, async () =>
      /role:slave[\s\S]*master_link_status:up/.test(await this.cli(replica, 'info', 'replication')),
    );
  }

  /** Whether every node serves every slot, and sees the same master and replicas for `key`. */
  async healthy(key = 'sse-hub'): Promise<boolean> {
    return this.untilReady()
      .then(() => this.agreedShardOf(key))
      .then(
        () => true,
        () => false,
      );
  }

  /** `key`'s master hands over to a replica (CLUSTER FAILOVER on the replica, a coordinated switch: nothing acknowledged is lost). */
  async failover(key: string): Promise<void> {
    const { master, replicas } = await this.agreedShardOf(key);
    if (replicas.length === 0) throw new Error(`${key}'s master has no replica to fail over to`);
    await this.untilReplicating(replicas[0]);
    // A manual failover gives up in silence after 5 s (the replica could not catch up): asked again, then forced.
    const promoted = async () => (await this.agreedShardOf(key)).master === replicas[0];
    for (const force of [[], [], ['force']]) {
      await this.cli(replicas[0], 'cluster', 'failover', ...force);
      if (
        await this.until(`${replicas[0].port} serves ${key}`, promoted, 8_000).then(
          () => true,
          () => false,
        )
      )
        break;
    }
    await this.until(`${replicas[0].port} serves ${key}`, promoted);
    await this.untilReplicating(master);
    await this.untilReady();
  }

  /**
   * Kills `key`'s master (SIGKILL): its replica is promoted once the others count it failed
   * (`nodeTimeoutMs`); then it comes back, empty, as a replica of the new master.
   */
  async killMaster(key: string): Promise<void> {
    const { master, replicas } = await this.agreedShardOf(key);
    if (replicas.length === 0) throw new Error(`${key}'s master has no replica to promote`);
    await this.untilReplicating(replicas[0]);
    await master.stop();
    const alive = this.nodes.filter((node) => node !== master);
    await this.until(`a replica of ${master.port} is promoted`, async () =>
      replicas.includes((await this.agreedShardOf(key, alive)).master),
    );
    await this.untilReady(alive);
    await master.restart();
    await this.untilReplicating(master);
    await this.untilReady();
    await this.agreedShardOf(key);
  }

  private async until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

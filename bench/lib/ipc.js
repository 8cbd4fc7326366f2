// Request/answer over a child process's IPC channel: every command carries an id and its
// answer carries the same id, so a late answer can never be taken for another one.
const { fork } = require('node:child_process');

/** The orchestrator's side: forks `file` and returns a handle with `ask(cmd, args)`. */
function spawn(file, { execArgv = [], env = process.env, name = file } = {}) {
  const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map();
  let nextId = 1;
  let exited = false;
  let firstMessage;
  const ready = new Promise((resolve, reject) => (firstMessage = { resolve, reject }));

  child.on('message', (message) => {
    if (message && message.ready) return firstMessage.resolve(message);
    const pending = waiting.get(message && message.id);
    if (!pending) return;
    waiting.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) pending.reject(new Error(`${name}: ${message.error}`));
    else pending.resolve(message);
  });
  child.on('exit', (code, signal) => {
    exited = true;
    const error = new Error(`${name} exited (code ${code}, signal ${signal})`);
    firstMessage.reject(error);
    for (const pending of waiting.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    waiting.clear();
  });

  return {
    child,
    name,
    /** Resolves with the child's `{ ready: true, ... }` message. */
    ready,
    ask(cmd, args = {}, timeoutMs = 120_000) {
      if (exited) return Promise.reject(new Error(`${name} has exited`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${name}: no answer to ${cmd} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { resolve, reject, timer });
        child.send({ id, cmd, ...args });
      });
    },
    /** Asks the child to exit, and kills it (this child only) if it does not. */
    async stop(graceMs = 5_000) {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      try {
        child.send({ id: 0, cmd: 'exit' });
      } catch {
        // The channel is already closed: the kill below does it.
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's side: answers each command with `handlers[cmd](message)` (which may be
 * async), tagged with the command's id. An `exit` command, or the parent going away,
 * ends the process.
 */
function serve(handlers) {
  process.on('message', async (message) => {
    if (message.cmd === 'exit') process.exit(0);
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      process.send({ id: message.id, ...(await handler(message)) });
    } catch (error) {
      process.send({ id: message.id, error: (error && error.stack) || String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

module.exports = { spawn, serve };

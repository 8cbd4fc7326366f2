/**
 * Ends the run with each Jest project's time and its slowest files (where CI's minutes
 * go), then a plain "N passed, N failed" line, which CI reads as the test count.
 *
 * A project's time is the sum of its files' run times (what it costs a worker) and its
 * span (its first file's start to its last file's end: what it costs the run's wall clock,
 * overlapping the other projects' spans when several workers run).
 * SSE_SLOWEST=n lists n files per project instead of 3 (0: none).
 */
class SummaryReporter {
  constructor() {
    this.projects = new Map();
  }

  onTestResult(test, result) {
    const name = test.context.config.displayName?.name ?? test.context.config.displayName ?? 'default';
    let project = this.projects.get(name);
    if (!project) this.projects.set(name, (project = { files: [], start: Infinity, end: 0 }));
    const { start, end } = result.perfStats;
    project.files.push({ path: test.path, ms: Math.max(0, end - start) });
    project.start = Math.min(project.start, start);
    project.end = Math.max(project.end, end);
  }

  onRunComplete(contexts, results) {
    const slowest = Number(process.env.SSE_SLOWEST ?? 3);
    const root = [...contexts][0]?.config.rootDir ?? process.cwd();
    const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
    const lines = [];
    for (const [name, project] of this.projects) {
      const sum = project.files.reduce((total, file) => total + file.ms, 0);
      lines.push(
        `${name}: ${project.files.length} files, ${seconds(sum)} (span ${seconds(project.end - project.start)})`,
      );
      for (const file of [...project.files].sort((a, b) => b.ms - a.ms).slice(0, slowest))
        lines.push(`    ${seconds(file.ms).padStart(8)}  ${file.path.slice(root.length + 1)}`);
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `\n${lines.join('\n')}${lines.length ? '\n' : ''}` +
        `Run: ${seconds(Date.now() - results.startTime)}\n` +
        `Tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
    );
  }
}
module.exports = SummaryReporter;

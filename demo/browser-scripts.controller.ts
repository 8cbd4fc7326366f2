import {
  Controller,
  Get,
  Header,
  NotFoundException,
  type OnApplicationBootstrap,
  Param,
} from '@nestjs/common';
import { build } from 'esbuild';
import { basename, join } from 'node:path';
import { demoDir } from './demo-dir';

/** The pages' scripts: demo/browser/<name>.ts, served as /js/<name>.js. */
const PAGES = ['chat', 'answer', 'notifications'];

/**
 * Serves the pages' scripts, each bundled with nestjs-sse-hub/client by esbuild as the
 * demo starts: nothing built is committed, and nothing can be stale.
 */
@Controller('js')
export class BrowserScriptsController implements OnApplicationBootstrap {
  private readonly scripts = new Map<string, string>();

  async onApplicationBootstrap(): Promise<void> {
    const dir = demoDir();
    const { outputFiles } = await build({
      entryPoints: PAGES.map((page) => join(dir, 'browser', `${page}.ts`)),
      outdir: join(dir, 'browser', 'out'),
      bundle: true,
      format: 'esm',
      target: 'es2022',
      write: false,
      // The client from this clone's source, as an app's bundler finds it in the package.
      alias: { 'nestjs-sse-hub/client': join(dir, '..', 'src', 'client', 'index.ts') },
      logLevel: 'silent',
    });
    for (const file of outputFiles) this.scripts.set(basename(file.path), file.text);
  }

  @Get(':file')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  script(@Param('file') file: string): string {
    const script = this.scripts.get(file);
    if (script === undefined) throw new NotFoundException(`No script ${file}: the pages' are ${PAGES}.`);
    return script;
  }
}

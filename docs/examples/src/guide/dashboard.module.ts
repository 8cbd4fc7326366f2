import { type CanActivate, type ExecutionContext, Injectable, Module } from '@nestjs/common';
import { SseDashboardModule } from 'nestjs-sse-hub';

// Who may see every route and channel name. The page's EventSource sends cookies but no
// headers, so its token comes as a cookie or, as here, in the query string.
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const expected = process.env.ADMIN_TOKEN;
    return Boolean(expected) && context.switchToHttp().getRequest().query?.token === expected;
  }
}

// From any module, beside the app's one SseModule.forRoot(): open /sse-hub?token=… in a browser.
// (In the root module, SseModule.forRoot({ dashboard: { path, guard } }) does the same.)
@Module({
  imports: [SseDashboardModule.register({ path: '/sse-hub', guard: AdminGuard })],
})
export class DashboardModule {}

import {
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  NotFoundException,
  Post,
  Req,
  RequestMethod,
  UseGuards,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { SseHub, SseRoute, SseRunSignal } from 'nestjs-sse-hub';

/** What the app's authentication (passport, a session middleware) puts on the request. */
interface SignedInRequest {
  user: { id: string };
  params: { id: string };
}

// Stands for the app's own guard: it lets in a signed-in user. EventSource sends cookies,
// never headers, so a GET that resumes is authenticated by the session cookie.
@Injectable()
export class SignedInGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return Boolean(context.switchToHttp().getRequest<Partial<SignedInRequest>>().user);
  }
}

/** The events of an answer: what the route yields is checked against them. */
export interface AnswerEvents {
  token: { text: string };
}

// A key is not a secret: the guard decides who gets in, and the key, built from the
// signed-in user, makes sure that what they read is their own answer.
const answerKey = (req: SignedInRequest) => `answer:${req.user.id}:${req.params.id}`;

@Controller('chat')
@UseGuards(SignedInGuard)
export class AnswerController {
  constructor(private readonly hub: SseHub) {}

  // POST /chat/42/answer {"prompt":"…"}: starts the answer, or joins it if it runs or ran
  // (then the handler is not called again: the model is paid for once).
  @SseRoute<AnswerEvents>(':id/answer', { method: RequestMethod.POST, resumable: { key: answerKey } })
  answer(@Body('prompt') prompt: string, @SseRunSignal() signal: AbortSignal) {
    return tokens(prompt, signal);
  }

  // GET /chat/42/answer: only resumes (a reload, a second tab, EventSource's reconnects),
  // from the start or after Last-Event-ID; 204 when there is nothing to read.
  @SseRoute(':id/answer', { resumable: { key: answerKey, create: false } })
  resume() {}

  // POST /chat/42/stop, from any tab, on any instance: the run's signal aborts.
  @Post(':id/stop')
  async stop(@Req() req: SignedInRequest) {
    return { stopped: await this.hub.abortRun(answerKey(req)) };
  }

  // GET /chat/42/status: { status: 'running' | 'completed' | 'failed' | 'aborted', events }.
  @Get(':id/status')
  async status(@Req() req: SignedInRequest) {
    const status = await this.hub.runStatus(answerKey(req));
    if (!status) throw new NotFoundException('No such answer, or it has expired');
    return status;
  }
}

// Stands for the model's client (an LLM SDK's stream): it is given the signal, so that the
// model stops when the run does. Each value is one event of the run.
async function* tokens(prompt: string, signal: AbortSignal) {
  for (const word of `You asked: ${prompt}. Here is a long answer, word by word.`.split(' ')) {
    await sleep(100, undefined, { signal });
    yield { event: 'token' as const, data: { text: `${word} ` } };
  }
}

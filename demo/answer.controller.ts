import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  NotFoundException,
  Param,
  Post,
  RequestMethod,
} from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { SseHub, SseRoute, type SseRunStatus, SseRunSignal } from 'nestjs-sse-hub';
import { type AnswerEvents } from './answer.events';

/** The part of the (Express) request the run's key is made of. */
interface AnswerRequest {
  params: { id: string };
}

/** What the fake model answers, whatever it is asked. */
export const CANNED_ANSWER =
  'Server-sent events are a plain HTTP response that never quite ends: the server writes lines of text, ' +
  "and the browser's EventSource hands each event to the page as it arrives. This answer is one of them. " +
  'It is produced once, token by token, by a fake model on the server, and kept there as a run. ' +
  'Reload the page, open it in a second tab, or lose the network for a moment: each reader resumes after ' +
  'the last event id it saw, and no token is produced twice or shown twice. ' +
  'Press Stop in any tab to abort the run everywhere, and the model stops with it.';

/** The answer cut as a model streams it: each word with the whitespace before it. Joined, they are the answer. */
export const CANNED_TOKENS: readonly string[] = CANNED_ANSWER.match(/\s*\S+/g)!;

const MAX_PROMPT = 500;

/** In a real app `answer:${req.user.id}:${id}`: a key is not a secret, the guards decide who reads it. */
const answerKey = (id: string) => `answer:${id}`;
const keyOf = (req: AnswerRequest) => answerKey(req.params.id);

function tokenDelayFromEnv(): number {
  const raw = process.env.DEMO_TOKEN_MS ?? '80';
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`DEMO_TOKEN_MS must be a number of ms, got "${raw}".`);
  return value;
}

/** A stand-in for an LLM client: no network, the tokens of a canned answer, one every `delayMs`. */
@Injectable()
export class FakeModel {
  /** The time between two tokens, in ms: DEMO_TOKEN_MS, or 80. */
  delayMs = tokenDelayFromEnv();

  /** The answer's tokens, until they are all out or the signal aborts (it stops within a token). */
  async *tokens(
    _prompt: string,
    signal: AbortSignal,
  ): AsyncGenerator<{ event: 'token'; data: AnswerEvents['token'] }> {
    for (const token of CANNED_TOKENS) {
      await this.think(signal);
      if (signal.aborted) return;
      yield { event: 'token', data: token };
    }
  }

  /** The wait before each token; ends early when the signal aborts, as a real client's request would. */
  async think(signal: AbortSignal): Promise<void> {
    await delay(this.delayMs, undefined, { signal }).catch(() => undefined);
  }
}

/**
 * An answer as a resumable run: POST asks (the model runs once per id, whoever asks),
 * GET resumes after a Last-Event-ID, from any tab; stop and status work from anywhere.
 */
@Controller('chat')
export class AnswerController {
  constructor(
    private readonly hub: SseHub,
    private readonly model: FakeModel,
  ) {}

  // Starts the run of this id, or joins it if it runs or ran (the handler is not called again).
  @SseRoute<AnswerEvents>(':id/answer', { method: RequestMethod.POST, resumable: { key: keyOf } })
  answer(@Body() body: unknown, @SseRunSignal() signal: AbortSignal) {
    const prompt = (body as { prompt?: unknown } | undefined)?.prompt;
    if (typeof prompt !== 'string' || prompt.trim() === '' || prompt.length > MAX_PROMPT)
      throw new BadRequestException(`Send { "prompt": string } of 1 to ${MAX_PROMPT} characters.`);
    return this.model.tokens(prompt, signal);
  }

  // Only resumes: 204 when there is no such run, or the client has all of one that ended.
  @SseRoute(':id/answer', { resumable: { key: keyOf, create: false } })
  resume(): void {}

  @Post(':id/stop')
  @HttpCode(200)
  async stop(@Param('id') id: string): Promise<{ stopped: boolean }> {
    return { stopped: await this.hub.abortRun(answerKey(id)) };
  }

  @Get(':id/status')
  async status(@Param('id') id: string): Promise<SseRunStatus> {
    const status = await this.hub.runStatus(answerKey(id));
    if (!status) throw new NotFoundException(`No answer "${id}": never asked, or gone after its ttl.`);
    return status;
  }
}

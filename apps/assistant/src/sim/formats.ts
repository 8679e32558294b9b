// The two wire formats the sim speaks: OpenAI chat completions and HuggingFace text generation.
// Parsing turns a request body into one neutral shape; the reply builders turn an answer back.
import { parsePrompt } from '../adapters/llm/prompt.js';
import { composeAnswer, countTokens } from './answer.js';

export type WireFormat = 'openai' | 'hf';

export interface ModelCall {
  format: WireFormat;
  model: string;
  /** All prompt text the model sees (chat messages joined). */
  prompt: string;
  /** Word budget for the answer, when the caller set one. */
  maxTokens: number | undefined;
  /** HF only: echo the prompt before the generated text (HF's default is true). */
  returnFullText: boolean;
  /** The caller asked for a streamed reply (server-sent events). */
  stream: boolean;
}

export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalTokens(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new BadRequestError(`${field} must be a positive integer`);
  }
  return v;
}

function optionalStream(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new BadRequestError('stream must be a boolean');
  return v;
}

function messageText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  // Content-part arrays: only the text parts matter to a text model.
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        isObject(part) && part.type === 'text' && typeof part.text === 'string' ? part.text : '',
      )
      .join('');
  }
  throw new BadRequestError(`messages[${i}].content must be a string or an array of content parts`);
}

export function parseOpenAi(body: unknown): ModelCall {
  if (!isObject(body)) throw new BadRequestError('body must be a JSON object');
  if (typeof body.model !== 'string' || body.model.length === 0) {
    throw new BadRequestError('model must be a non-empty string');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new BadRequestError('messages must be a non-empty array');
  }
  const texts = body.messages.map((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string')
      throw new BadRequestError(`messages[${i}].role is required`);
    return messageText(m.content, i);
  });
  if (body.temperature !== undefined && (typeof body.temperature !== 'number' || !(body.temperature >= 0))) {
    throw new BadRequestError('temperature must be a number >= 0');
  }
  return {
    format: 'openai',
    model: body.model,
    prompt: texts.join('\n\n'),
    maxTokens: optionalTokens(body.max_tokens, 'max_tokens'),
    returnFullText: false,
    stream: optionalStream(body.stream),
  };
}

export function parseHf(body: unknown, model: string): ModelCall {
  if (!isObject(body)) throw new BadRequestError('body must be a JSON object');
  if (typeof body.inputs !== 'string') throw new BadRequestError('inputs must be a string');
  const params = body.parameters ?? {};
  if (!isObject(params)) throw new BadRequestError('parameters must be an object');
  return {
    format: 'hf',
    model,
    prompt: body.inputs,
    maxTokens: optionalTokens(params.max_new_tokens, 'parameters.max_new_tokens'),
    returnFullText: params.return_full_text !== false,
    // TGI / HF Inference take `stream` at the top level of the body.
    stream: optionalStream(body.stream),
  };
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length' | 'content_filter';
}

/** Same prompt in, same answer out. A prompt without a `Question:` line is taken whole as the question. */
export function generate(call: ModelCall): Generation {
  const parsed = parsePrompt(call.prompt);
  const answer = composeAnswer(parsed.question ?? call.prompt, parsed.passages);
  if (call.maxTokens === undefined) return { text: answer, finishReason: 'stop' };
  const words = answer.split(/\s+/);
  if (words.length <= call.maxTokens) return { text: answer, finishReason: 'stop' };
  return { text: words.slice(0, call.maxTokens).join(' '), finishReason: 'length' };
}

let completionSeq = 0;

/** One chat completion: `content` null and no completion tokens when the content filter withheld it. */
function chatCompletion(call: ModelCall, content: string | null, finishReason: string): unknown {
  const promptTokens = countTokens(call.prompt);
  const completionTokens = content === null ? 0 : countTokens(content);
  completionSeq++;
  const message: Record<string, unknown> = { role: 'assistant', content };
  if (content === null) message.refusal = null;
  return {
    id: `chatcmpl-sim-${completionSeq.toString(36)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: call.model,
    choices: [{ index: 0, message, finish_reason: finishReason }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

export function openAiReply(call: ModelCall, gen: Generation): unknown {
  return chatCompletion(call, gen.text, gen.finishReason);
}

export function hfReply(call: ModelCall, gen: Generation): unknown {
  return [{ generated_text: call.returnFullText ? `${call.prompt} ${gen.text}` : gen.text }];
}

/** A 200 whose answer the provider's content filter withheld, as OpenAI (and Azure OpenAI) send it. */
export function openAiFiltered(call: ModelCall): unknown {
  return chatCompletion(call, null, 'content_filter');
}

/** The same for HF text generation: no text, and the generation details name the filter. */
export function hfFiltered(): unknown {
  return [{ generated_text: '', details: { finish_reason: 'content_filter', generated_tokens: 0 } }];
}

/** Error body in each provider's own shape. */
export function errorBody(format: WireFormat, message: string, type: string, code: string | null): unknown {
  return format === 'openai' ? { error: { message, type, code } } : { error: message };
}

/**
 * Splits an answer into the tokens a stream sends: each word with the whitespace before it, so the tokens'
 * texts joined give back the answer exactly.
 */
export function splitTokens(text: string): string[] {
  const tokens: string[] = text.match(/\s*\S+/g) ?? [];
  const rest = text.slice(tokens.join('').length);
  if (rest.length > 0) {
    if (tokens.length === 0) tokens.push(rest);
    else tokens[tokens.length - 1] += rest;
  }
  return tokens;
}

/** One server-sent event carrying `data` as JSON (or a literal such as OpenAI's `[DONE]`). */
export function sseData(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** Builds the events of a streamed reply in each provider's wire format. */
export interface StreamEncoder {
  /** Events sent before the first token (OpenAI's role chunk), possibly none. */
  start(): string;
  /** The event of token `index` (0-based) of `count`. */
  token(text: string, index: number, count: number): string;
  /** Events that end a complete stream, after the last token. */
  end(): string;
  /** The whole rest of a stream the content filter stopped before any token. */
  filtered(): string;
}

/** `gen` is the whole answer being streamed: TGI's last token event carries it, OpenAI's end its reason. */
export function streamEncoder(call: ModelCall, gen: Generation): StreamEncoder {
  if (call.format === 'openai') {
    completionSeq++;
    const base = {
      id: `chatcmpl-sim-${completionSeq.toString(36)}`,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: call.model,
    };
    const chunk = (delta: Record<string, string>, finishReason: string | null) =>
      sseData({ ...base, choices: [{ index: 0, delta, finish_reason: finishReason }] });
    return {
      start: () => chunk({ role: 'assistant', content: '' }, null),
      token: (text) => chunk({ content: text }, null),
      end: () => chunk({}, gen.finishReason) + sseData('[DONE]'),
      filtered: () => chunk({}, 'content_filter') + sseData('[DONE]'),
    };
  }
  // TGI's stream: one event per token; the last one also carries the whole text and the details.
  return {
    start: () => '',
    token: (text, index, count) => {
      const last = index === count - 1;
      const full = call.returnFullText ? `${call.prompt} ${gen.text}` : gen.text;
      const details = {
        finish_reason: gen.finishReason === 'length' ? 'length' : 'eos_token',
        generated_tokens: count,
      };
      return sseData({
        index,
        token: { id: index, text, logprob: 0, special: false },
        generated_text: last ? full : null,
        details: last ? details : null,
      });
    },
    end: () => '',
    filtered: () =>
      sseData({
        index: 0,
        token: { id: 0, text: '', logprob: 0, special: true },
        generated_text: '',
        details: { finish_reason: 'content_filter', generated_tokens: 0 },
      }),
  };
}

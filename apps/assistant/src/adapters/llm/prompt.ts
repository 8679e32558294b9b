// The prompt format: built here for the real providers and parsed back (parsePrompt) by the simulated LLM,
// so both sides agree on one definition. Each passage is exactly two lines — `[n] Title: ...` then its
// text collapsed to a single line — which keeps document text from forging markers such as `Question:`.
import { clipText } from '../../domain/text.js';
import type { Passage } from './types.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Prompt {
  system: string;
  user: string;
  /** The chat form, for OpenAI-compatible endpoints. */
  messages: ChatMessage[];
  /** The single-string form, for text-generation endpoints. */
  text: string;
}

export interface PromptOptions {
  /** Longest excerpt kept per passage, in characters (code points, '…' included; default 1500). */
  maxPassageChars?: number;
}

export interface PromptPassage {
  index: number;
  title: string;
  text: string;
}

export interface ParsedPrompt {
  /** null when the text carries no `Question:` line (a free-form prompt). */
  question: string | null;
  passages: PromptPassage[];
}

export const SYSTEM_PROMPT =
  "You answer questions about the user's own documents. Use only the numbered context passages, " +
  'cite the titles you rely on, and say plainly when the context does not contain the answer.';

const NO_CONTEXT = '(no relevant passages)';
const TITLE_LINE = /^\[(\d+)\] Title: (.*)$/;
const QUESTION_PREFIX = 'Question: ';

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

export function buildPrompt(
  question: string,
  passages: readonly Passage[],
  options: PromptOptions = {},
): Prompt {
  const maxChars = options.maxPassageChars ?? 1500;
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new RangeError(`maxPassageChars must be a positive integer, got ${String(maxChars)}`);
  }
  const blocks = passages.map(
    (p, i) => `[${i + 1}] Title: ${oneLine(p.title) || 'Untitled'}\n${clipText(p.text, maxChars)}`,
  );
  const context = blocks.length > 0 ? blocks.join('\n\n') : NO_CONTEXT;
  const user = `Context:\n${context}\n\n${QUESTION_PREFIX}${oneLine(question)}`;
  return {
    system: SYSTEM_PROMPT,
    user,
    messages: [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: user },
    ],
    text: `${SYSTEM_PROMPT}\n\n${user}\n\nAnswer:`,
  };
}

/** Inverse of buildPrompt, tolerant of anything around the blocks (the sim also gets hand-written prompts). */
export function parsePrompt(text: string): ParsedPrompt {
  const lines = text.split(/\r?\n/);
  const passages: PromptPassage[] = [];
  let question: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const title = TITLE_LINE.exec(line);
    if (title) {
      passages.push({
        index: Number(title[1]),
        title: title[2]?.trim() ?? '',
        text: (lines[i + 1] ?? '').trim(),
      });
      i++; // the text line is consumed with its title, whatever it says
    } else if (line.startsWith(QUESTION_PREFIX)) {
      question = line.slice(QUESTION_PREFIX.length).trim();
    }
  }
  return { question, passages };
}

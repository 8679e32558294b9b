// Test helper: a minimal Server-Sent Events reader over fetch, so tests see the raw stream a browser sees.

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Comment lines seen so far (heartbeats), without the leading colon. */
  comments: string[];
  /** Resolves with the next event whose name is `event` (any event when omitted). */
  next(event?: string, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

export async function openSse(url: string): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
  const comments: string[] = [];
  const queue: SseEvent[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  let buffer = '';

  const parseFrame = (frame: string) => {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let hasField = false;
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) {
        comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
      else continue;
      hasField = true;
    }
    if (hasField && data.length > 0) queue.push({ event, id, data: data.join('\n') });
  };

  const pump = async () => {
    if (res.body === null) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
        for (const wake of waiters.splice(0)) wake();
      }
    } catch {
      // Aborted by close(): the stream simply ends.
    } finally {
      ended = true;
      for (const wake of waiters.splice(0)) wake();
    }
  };
  if (res.ok) void pump();
  else ended = true;

  return {
    status: res.status,
    headers: res.headers,
    comments,
    async next(event?: string, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const at = queue.findIndex((e) => event === undefined || e.event === event);
        if (at !== -1) return queue.splice(0, at + 1)[at]!;
        if (ended) throw new Error(`stream ended before a "${event ?? 'any'}" event`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no "${event ?? 'any'}" event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close() {
      controller.abort();
    },
  };
}

/** Whether the stream has ended (server closed it): waits until `next()` rejects with "ended". */
export async function streamEnds(stream: SseStream, timeoutMs = 10_000): Promise<boolean> {
  try {
    for (;;) await stream.next(undefined, timeoutMs);
  } catch (err) {
    return (err as Error).message.startsWith('stream ended');
  }
}

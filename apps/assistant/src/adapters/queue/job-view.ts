import { classifyError } from 'tripswitch/http';
import type { JobStatus, JobView, QueryResponse } from '../../domain/types.js';

/**
 * What a failed attempt leaves on a job (and so in `GET /api/assistant/jobs/:id`): the error's class and
 * its classification, never the upstream's own text, which can carry secrets (DESIGN 3.3).
 */
export function jobErrorText(err: unknown): string {
  const type = err instanceof Error ? err.name : typeof err;
  return `the model could not answer: ${type} (${classifyError(err).reason})`;
}

/** The public shape of a job (GET /api/assistant/jobs/:id), whatever queue holds it. */
export function toJobView(job: {
  id: string;
  status: JobStatus;
  result: unknown;
  error: string | null | undefined;
  createdAt: number;
  updatedAt: number;
}): JobView {
  const view: JobView = {
    job_id: job.id,
    status: job.status,
    created_at: new Date(job.createdAt).toISOString(),
    updated_at: new Date(job.updatedAt).toISOString(),
  };
  if (job.status === 'done' && job.result != null) view.result = job.result as QueryResponse;
  if (job.status === 'failed' && job.error) view.error = job.error;
  return view;
}

import type { JobStatus, JobView, QueryResponse } from '../../domain/types.js';

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

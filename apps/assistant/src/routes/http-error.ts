import { STATUS_CODES } from 'node:http';

/** The service's error body: `{ statusCode, error, message }`. */
export interface HttpErrorBody {
  statusCode: number;
  /** Always the status code's standard reason phrase (http.STATUS_CODES), so status and label agree. */
  error: string;
  message: string;
}

/** Every error body the service writes is built here: the label comes from the status, never by hand. */
export function httpError(status: number, message: string): HttpErrorBody {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
}

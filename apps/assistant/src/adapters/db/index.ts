// The embedded SQLite data layer: one import for the service's wiring code.
export { checkDatabase, type Database, type OpenDatabaseOptions, openDatabase } from './database.js';
export {
  DOCUMENT_LIMITS,
  type DocumentInput,
  DocumentRepository,
  type DocumentSummary,
  PASSAGE_MAX_CHARS,
  type Passage,
  type StoredDocument,
} from './documents.js';
export {
  JOB_STATUSES,
  type Job,
  type JobOptions,
  JobRepository,
  type JobRepositoryOptions,
  type JobStatus,
} from './jobs.js';
export { LATEST_SCHEMA_VERSION } from './migrations.js';
export { authenticate, ensureUsers } from './users.js';

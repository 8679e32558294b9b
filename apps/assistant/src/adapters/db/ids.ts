// Public ids: a type prefix plus 128 random bits, URL-safe. Unguessable, so an id alone never leaks
// whether another user's object exists (lookups are also scoped by user).
import { randomBytes } from 'node:crypto';

export function newId(prefix: 'doc' | 'job'): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

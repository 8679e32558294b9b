// Child process for the claim-atomicity test: opens its own connection to the database file given as
// argv[2] and claims jobs until none are left, printing the claimed ids as one JSON array.
import { openDatabase } from '../../src/adapters/db/database.js';
import { JobRepository } from '../../src/adapters/db/jobs.js';

const [path, owner] = process.argv.slice(2);
if (!path || !owner) throw new Error('usage: claimer-child <db path> <owner>');
const db = openDatabase(path);
const jobs = new JobRepository(db);
const claimed: string[] = [];
for (;;) {
  const job = jobs.claimNextJob(owner, Date.now(), 60_000);
  if (!job) break;
  claimed.push(job.id);
  if (!jobs.completeJob(job.id, owner, { by: owner })) throw new Error(`lost ${job.id}`);
}
db.close();
process.stdout.write(JSON.stringify(claimed));

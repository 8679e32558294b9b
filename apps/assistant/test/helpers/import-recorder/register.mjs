// `node --import <this file>`: records every module URL the process resolves that belongs to OpenTelemetry
// (any @opentelemetry/ package, tripswitch/otel, the service's telemetry adapter) into the file named by
// RECORD_IMPORTS_FILE, one URL a line. The hooks run on Node's loader thread, which writes the file itself.
import { register } from 'node:module';

const file = process.env.RECORD_IMPORTS_FILE;
if (file) register('./hooks.mjs', import.meta.url, { data: { file } });

import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  v8: string;
  os: string;
  /** 1-minute load average when the run started: a busy shared machine makes every timing noisier. */
  load: number;
  date: string;
}

/** What the numbers were measured on: ratios travel between machines, absolute times do not. */
export function machineInfo(now: Date = new Date()): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() || 'unknown CPU',
    cores: list.length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${release()}`,
    load: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    date: now.toISOString(),
  };
}

import { cpus, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  v8: string;
  os: string;
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
    date: now.toISOString(),
  };
}

/** Collects benchmark figures, prints them as a table and writes bench-results.json. */
import { writeFileSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';
import { round } from './stats';

export interface Figure {
  value: number;
  unit: string;
  floor: number | null;
  ratio: number | null;
  /** What the target is, for the printed table and docs/benchmarks.md (kept out of the figure in JSON). */
  target?: string;
  met?: boolean;
}

export class Report {
  readonly results: Record<string, Figure> = {};

  add(
    name: string,
    figure: {
      value: number;
      unit: string;
      floor?: number | null;
      target?: string;
      check?: (f: Figure) => boolean;
    },
  ): Figure {
    const floor = figure.floor ?? null;
    const ratio = floor !== null && floor > 0 ? round(figure.value / floor, 3) : null;
    const entry: Figure = {
      value: round(figure.value, 3),
      unit: figure.unit,
      floor: floor === null ? null : round(floor, 3),
      ratio,
    };
    if (figure.target) entry.target = figure.target;
    if (figure.check) entry.met = figure.check(entry);
    this.results[name] = entry;
    const met = entry.met === undefined ? '' : entry.met ? '  ok' : '  MISSED';
    console.log(
      `  ${name.padEnd(42)} ${String(entry.value).padStart(12)} ${entry.unit.padEnd(10)} floor ${String(entry.floor ?? '-').padStart(10)}  ratio ${String(entry.ratio ?? '-').padStart(7)}  ${entry.target ?? ''}${met}`,
    );
    return entry;
  }

  machine(): Record<string, unknown> {
    const cpu = cpus();
    return {
      date: new Date().toISOString(),
      node: process.version,
      platform: process.platform,
      arch: arch(),
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: round(totalmem() / 1024 ** 3, 1),
    };
  }

  /** The bench-results.json document: each figure as {value, unit, floor, ratio}; targets beside them. */
  document(): {
    machine: Record<string, unknown>;
    results: Record<string, Pick<Figure, 'value' | 'unit' | 'floor' | 'ratio'>>;
    targets: Record<string, { target: string; met: boolean | null }>;
  } {
    const results: Record<string, Pick<Figure, 'value' | 'unit' | 'floor' | 'ratio'>> = {};
    const targets: Record<string, { target: string; met: boolean | null }> = {};
    for (const [name, f] of Object.entries(this.results)) {
      results[name] = { value: f.value, unit: f.unit, floor: f.floor, ratio: f.ratio };
      if (f.target) targets[name] = { target: f.target, met: f.met ?? null };
    }
    return { machine: this.machine(), results, targets };
  }

  write(path: string): void {
    writeFileSync(path, `${JSON.stringify(this.document(), null, 2)}\n`);
  }

  printTable(): void {
    console.log('\nSummary');
    console.log(
      `  ${'figure'.padEnd(42)} ${'value'.padStart(12)} ${'unit'.padEnd(10)} ${'floor'.padStart(16)}  ${'ratio'.padStart(13)}  target`,
    );
    for (const [name, f] of Object.entries(this.results)) {
      const met = f.met === undefined ? '' : f.met ? '  ok' : '  MISSED';
      console.log(
        `  ${name.padEnd(42)} ${String(f.value).padStart(12)} ${f.unit.padEnd(10)} ${String(f.floor ?? '-').padStart(16)}  ${String(f.ratio ?? '-').padStart(13)}  ${f.target ?? ''}${met}`,
      );
    }
  }
}

// Progress on long work: a bar on a terminal, a summary line now and then in logs (CI, files).

import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/** A progress reporter for `total` units; silent when quiet. Writes to stderr. */
export function progress(label: string, total: number, opts: { quiet?: boolean; unit?: string } = {}): Progress {
  if (opts.quiet) return { update() {}, stop() {} };
  const unit = opts.unit ?? 'steps';
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} ${unit} | {info} | eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, fields) => bar.update(done, { info: formatFields(fields) }),
      stop: () => bar.stop(),
    };
  }
  // Not a terminal: a line at each tenth of the way, so logs show the run moving.
  let nextMark = 0;
  const start = Date.now();
  return {
    update(done, fields) {
      if (done < nextMark && done < total) return;
      nextMark = done + Math.max(1, Math.ceil(total / 10));
      const secs = ((Date.now() - start) / 1000).toFixed(1);
      process.stderr.write(
        `${label}: ${done}/${total} ${unit} (${secs}s)${fields ? ' ' + formatFields(fields) : ''}\n`,
      );
    },
    stop() {},
  };
}

function formatFields(fields?: Record<string, string | number>): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`)
    .join(' | ');
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4);
}

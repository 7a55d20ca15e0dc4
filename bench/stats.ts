/** Small statistics helpers shared by the benchmarks. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Runs `fn` in `rounds` rounds of `perRound` calls; returns the time per call of each round (µs). */
export function timePerCall(fn: () => unknown, rounds: number, perRound: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perRound; i += 1) fn();
    out.push(Number(process.hrtime.bigint() - start) / 1000 / perRound);
  }
  return out;
}

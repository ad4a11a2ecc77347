/** The middle sample (the mean of the two middle ones for an even count). */
export const median = (samples: readonly number[]): number => {
  const sorted = [...samples].sort((x, y) => x - y)
  const middle = sorted.length / 2
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2
}

/** The nearest-rank percentile: the smallest sample at or above `p` percent of them. */
export const percentile = (samples: readonly number[], p: number): number => {
  const sorted = [...samples].sort((x, y) => x - y)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

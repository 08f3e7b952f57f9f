// Helpers for metrics-host renderer plugins written in JavaScript
// (componentize-js).
//
// A batch's label values are one text blob, `labelText`, and `labelEnds`,
// the end of each value as a UTF-8 *byte* offset. The bindings hand
// `labelText` over as a JavaScript string (UTF-16), so slicing it with
// those offsets silently corrupts every label after a non-ASCII
// character. `seriesOf()` slices the encoded bytes instead, and checks the
// lengths the way the Rust SDK does.
//
// `Output` buffers what a render writes and hands it to the host's
// `output.write` in chunks of about 64 KiB; when the host refuses output it
// throws `OutputClosed`, and the render should throw `{ tag: 'output-closed' }`.
//
// Numbers: 64-bit integers (counts, creation times) arrive as BigInt.

export const CHUNK_BYTES = 64 * 1024;

export class OutputClosed extends Error {}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Output {
  constructor(write) {
    this.write_ = write;
    this.parts = [];
    this.size = 0;
  }

  write(text) {
    const data = encoder.encode(text);
    this.parts.push(data);
    this.size += data.length;
    if (this.size >= CHUNK_BYTES) this.flush();
  }

  flush() {
    if (this.parts.length === 0) return;
    const chunk = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.parts) {
      chunk.set(part, at);
      at += part.length;
    }
    this.parts = [];
    this.size = 0;
    if (!this.write_(chunk)) throw new OutputClosed();
  }
}

// Every batch the host hands out (pass `nextBatch`).
export function* batches(nextBatch) {
  for (;;) {
    const batch = nextBatch();
    if (batch === undefined || batch === null) return;
    yield batch;
  }
}

// The series of `batch`, whose family is `family`: `{ labels: [[name,
// value], ...], value, count, sum, buckets: [[bound, cumulative], ...],
// quantiles: [[q, value], ...], createdMs }`.
export function* seriesOf(batch, family) {
  const names = family.labelNames;
  const width = names.length;
  const distribution = family.kind === 'histogram' || family.kind === 'summary';
  const n = distribution ? batch.counts.length : batch.values.length;
  if (batch.labelEnds.length !== n * width) {
    throw new Error(`family ${family.name}: ${batch.labelEnds.length} label values for ${n} series of ${width} labels`);
  }
  const text = encoder.encode(batch.labelText);
  const bounds = Array.from(family.bounds);
  const quantiles = Array.from(family.quantiles);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const labels = [];
    for (let j = 0; j < width; j++) {
      const end = batch.labelEnds[i * width + j];
      if (end < start || end > text.length) throw new Error(`family ${family.name}: label value end ${end} is out of order`);
      labels.push([names[j], decoder.decode(text.subarray(start, end))]);
      start = end;
    }
    const s = { labels, value: 0, count: 0, sum: 0, buckets: [], quantiles: [], createdMs: undefined };
    if (distribution) {
      s.count = Number(batch.counts[i]);
      s.sum = batch.sums[i];
      s.value = s.count;
    } else {
      s.value = batch.values[i];
    }
    if (family.kind === 'histogram') {
      const b = bounds.length;
      s.buckets = bounds.map((bound, k) => [bound, Number(batch.bucketCounts[i * b + k])]);
      s.buckets.push([Infinity, s.count]);
    }
    if (family.kind === 'summary') {
      const q = quantiles.length;
      s.quantiles = quantiles.map((quantile, k) => [quantile, batch.quantileValues[i * q + k]]);
    }
    if (batch.createdMs.length > 0) s.createdMs = Number(batch.createdMs[i]);
    yield s;
  }
}

// A number as Prometheus text writes it: NaN, +Inf, -Inf, integers
// without a fraction, else the shortest round-trip form.
export function goFloat(value) {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

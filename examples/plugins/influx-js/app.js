// Example plugin in JavaScript (componentize-js): InfluxDB line protocol,
// format `influx_js`, the same output as the Rust and Python examples
// (`examples/plugins/influx`, `influx-python`): the family name is the
// measurement, labels are tags (empty ones left out), the value is the
// field `value` (histograms: `count`, `sum` and a field per bucket bound;
// summaries: `count`, `sum` and a field per quantile), the snapshot's time
// the timestamp in the precision of `influx_js.toml` (`precision`: ns, us,
// ms, s; default ns). NaN and infinite fields are left out.
//
// Built with the template's helpers (`host/templates/js`): see the
// Makefile's `examples`.
import { nextBatch } from 'metrics:renderer/input@0.3.0';
import { write } from 'metrics:renderer/output@0.3.0';
import { Output, OutputClosed, batches, seriesOf, goFloat } from './metrics_renderer_helpers.js';

const FORMAT = 'influx_js';
const SCALE = { ns: [1000000n, 1n], us: [1000n, 1n], ms: [1n, 1n], s: [1n, 1000n] };

// Most names and values need no escaping: test once, replace only then.
const MEASUREMENT_SPECIALS = /[, \n]/;
const KEY_SPECIALS = /[,= \n]/;
const measurement = (name) => (MEASUREMENT_SPECIALS.test(name) ? name.replace(/[, ]/g, '\\$&').replace(/\n/g, '\\n') : name);
const key = (name) => (KEY_SPECIALS.test(name) ? name.replace(/[,= ]/g, '\\$&').replace(/\n/g, '\\n') : name);
const bound = (value) => (value === Infinity ? '+Inf' : goFloat(value));

export const renderer = {
  formats() {
    return [{ name: FORMAT, contentType: 'text/plain; charset=utf-8', description: 'InfluxDB line protocol (JavaScript)' }];
  },

  configure(settings) {
    for (const [name, value] of settings) {
      if (name !== 'precision') throw `unknown setting ${JSON.stringify(name)} (known: precision)`;
      if (!(value in SCALE)) throw `precision ${JSON.stringify(value)}: use ns, us, ms or s`;
    }
  },

  render(snapshot, format, options) {
    if (format !== FORMAT) throw { tag: 'unknown-format', val: format };
    const precision = (options.settings.find(([name]) => name === 'precision') || [null, 'ns'])[1];
    const [multiply, divide] = SCALE[precision];
    const timestamp = String((BigInt(snapshot.timestampMs) * multiply) / divide);
    const out = new Output(write);
    try {
      for (const batch of batches(nextBatch)) {
        const family = snapshot.families[batch.family];
        const name = measurement(options.prefix + family.name);
        for (const series of seriesOf(batch, family)) {
          let fields;
          if (family.kind === 'counter' || family.kind === 'gauge') {
            fields = [['value', series.value]];
          } else if (family.kind === 'histogram') {
            fields = [['count', series.count], ['sum', series.sum], ...series.buckets.map(([b, c]) => [bound(b), c])];
          } else {
            fields = [['count', series.count], ['sum', series.sum], ...series.quantiles.map(([q, v]) => [bound(q), v])];
          }
          fields = fields.filter(([, v]) => Number.isFinite(v));
          if (fields.length === 0) continue;
          const tags = series.labels.filter(([, v]) => v !== '').map(([k, v]) => `,${key(k)}=${key(v)}`).join('');
          const values = fields.map(([k, v]) => `${key(k)}=${goFloat(v)}`).join(',');
          out.write(`${name}${tags} ${values} ${timestamp}\n`);
        }
      }
      out.flush();
    } catch (error) {
      if (error instanceof OutputClosed) throw { tag: 'output-closed' };
      throw { tag: 'failed', val: String(error) };
    }
  },
};

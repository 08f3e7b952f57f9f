//! Samples in an encoded push request, counted from its protobuf structure
//! without decoding it: remote write's `timeseries` (one sample or native
//! histogram each, in 1.0 and 2.0) and OTLP's data points (every
//! `Metric`'s gauge, sum, histogram, exponential histogram or summary
//! points). Any bytes are read safely (a plugin can render these formats
//! too): malformed input counts what was read before it.
use super::settings::PushProtocol;

/// Field numbers, level by level, down to the counted field.
type Path<'a> = &'a [&'a [u64]];

/// `WriteRequest.timeseries`.
const REMOTE_WRITE_1: Path<'static> = &[&[1]];
/// `io.prometheus.write.v2.Request.timeseries`.
const REMOTE_WRITE_2: Path<'static> = &[&[5]];
/// `resource_metrics` / `scope_metrics` / `metrics` / one of gauge (5),
/// sum (7), histogram (9), exponential_histogram (10), summary (11) /
/// `data_points`.
const OTLP: Path<'static> = &[&[1], &[2], &[2], &[5, 7, 9, 10, 11], &[1]];

/// The samples in one (uncompressed) request of `protocol`; `None` for
/// protocols whose payload the host does not read (`pushgateway`, `http`).
pub fn samples(protocol: PushProtocol, request: &[u8]) -> Option<u64> {
    let path = match protocol {
        PushProtocol::RemoteWrite1 => REMOTE_WRITE_1,
        PushProtocol::RemoteWrite2 => REMOTE_WRITE_2,
        PushProtocol::Otlp => OTLP,
        PushProtocol::Pushgateway | PushProtocol::Http => return None,
    };
    Some(count(request, path))
}

fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// Occurrences of the last level's fields inside the messages the
/// earlier levels name.
fn count(message: &[u8], path: Path<'_>) -> u64 {
    let Some((wanted, deeper)) = path.split_first() else { return 0 };
    let mut total = 0;
    let mut at = 0;
    while at < message.len() {
        let Some(key) = varint(message, &mut at) else { break };
        let (field, wire) = (key >> 3, key & 7);
        let payload = match wire {
            0 => varint(message, &mut at).map(|_| None),
            1 => (at + 8 <= message.len()).then(|| at += 8).map(|()| None),
            5 => (at + 4 <= message.len()).then(|| at += 4).map(|()| None),
            2 => varint(message, &mut at).and_then(|len| {
                let end = at.checked_add(usize::try_from(len).ok()?).filter(|&end| end <= message.len())?;
                let body = &message[at..end];
                at = end;
                Some(Some(body))
            }),
            _ => None,
        };
        let Some(payload) = payload else { break };
        if let Some(body) = payload.filter(|_| wanted.contains(&field)) {
            total += if deeper.is_empty() { 1 } else { count(body, deeper) };
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u64, body: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3 | 2) as u8, body.len() as u8];
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn series_and_data_points_are_counted_and_any_bytes_are_safe() {
        // Two series and a metadata entry (field 3).
        let write_request = [field(1, b"ab"), field(3, b"m"), field(1, b"")].concat();
        assert_eq!(samples(PushProtocol::RemoteWrite1, &write_request), Some(2));
        assert_eq!(samples(PushProtocol::RemoteWrite2, &field(5, b"x")), Some(1));
        // One metric with a sum of 3 points, one with a gauge of 1 point.
        let sum = field(7, &[field(1, b"p"), field(1, b"q"), field(1, b"r"), vec![2 << 3, 1]].concat());
        let gauge = field(5, &field(1, b""));
        let scope = field(2, &[field(1, b"scope"), field(2, &sum), field(2, &gauge)].concat());
        let otlp = field(1, &[field(1, b"resource"), scope].concat());
        assert_eq!(samples(PushProtocol::Otlp, &otlp), Some(4));
        assert_eq!(samples(PushProtocol::Http, b"anything"), None);
        // Truncated and malformed input: counted up to where it breaks.
        assert_eq!(samples(PushProtocol::RemoteWrite1, &write_request[..5]), Some(1));
        for bytes in [&[0xffu8; 12][..], &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], &[0x0b], &[0x09, 1, 2]] {
            assert_eq!(samples(PushProtocol::Otlp, bytes), Some(0));
        }
    }
}

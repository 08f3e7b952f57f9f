//! Number formatting for both formats.
//!
//! Prometheus text uses Go float syntax: `NaN`, `+Inf`, `-Inf`, integers
//! without a fraction, otherwise the shortest representation that reads back
//! to the same f64. JSON has no literal for NaN or the infinities, so
//! metrics.json writes them as the strings `"NaN"`, `"+Inf"` and `"-Inf"`
//! (the convention of Prometheus' own HTTP API); finite values are numbers.
use crate::fast_copy::push_bytes;
use alloc::vec::Vec;

/// Integral values below this magnitude print as integers; above it the
/// shortest float form (`1e21`) is shorter and still exact.
const INTEGER_LIMIT: f64 = 1e15;

/// Longest text `prometheus_f64` or `push_u64` produce (`-1.7976931348623157e308`).
pub(crate) const MAX_NUMBER_BYTES: usize = 24;

/// `value` in Go float syntax, as the Prometheus text format expects; the
/// digits live in `itoa` or `ryu`.
#[inline]
pub(crate) fn prometheus_f64<'b>(value: f64, itoa: &'b mut itoa::Buffer, ryu: &'b mut ryu::Buffer) -> &'b [u8] {
    if value.is_nan() {
        b"NaN"
    } else if value.is_infinite() {
        if value > 0.0 {
            b"+Inf"
        } else {
            b"-Inf"
        }
    } else if value.abs() < INTEGER_LIMIT && (value as i64) as f64 == value {
        if value == 0.0 && value.is_sign_negative() {
            b"-0"
        } else {
            itoa.format(value as i64).as_bytes()
        }
    } else {
        ryu.format_finite(value).as_bytes()
    }
}

/// Appends `value` in Go float syntax.
#[inline]
pub(crate) fn push_prometheus_f64(buf: &mut Vec<u8>, value: f64) {
    let (mut itoa, mut ryu) = (itoa::Buffer::new(), ryu::Buffer::new());
    push_bytes(buf, prometheus_f64(value, &mut itoa, &mut ryu));
}

/// Appends `value` as a JSON value: a number when finite, else a string.
#[inline]
pub(crate) fn push_json_f64(buf: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        push_bytes(buf, b"\"NaN\"");
    } else if value.is_infinite() {
        push_bytes(buf, if value > 0.0 { b"\"+Inf\"" } else { b"\"-Inf\"" });
    } else {
        let mut ryu = ryu::Buffer::new();
        push_bytes(buf, ryu.format_finite(value).as_bytes());
    }
}

#[inline]
pub(crate) fn push_u64(buf: &mut Vec<u8>, value: u64) {
    let mut itoa = itoa::Buffer::new();
    push_bytes(buf, itoa.format(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn prom(v: f64) -> String {
        let mut buf = Vec::new();
        push_prometheus_f64(&mut buf, v);
        String::from_utf8(buf).unwrap()
    }

    fn json(v: f64) -> String {
        let mut buf = Vec::new();
        push_json_f64(&mut buf, v);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn prometheus_specials_use_go_syntax() {
        assert_eq!(prom(f64::NAN), "NaN");
        assert_eq!(prom(f64::INFINITY), "+Inf");
        assert_eq!(prom(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn prometheus_integers_have_no_fraction() {
        assert_eq!(prom(0.0), "0");
        assert_eq!(prom(-0.0), "-0");
        assert_eq!(prom(42.0), "42");
        assert_eq!(prom(-7.0), "-7");
        assert_eq!(prom(999_999_999_999_999.0), "999999999999999");
    }

    #[test]
    fn prometheus_floats_round_trip() {
        for v in [0.1, -2.5e-300, 1e300, 1e15, 123456.789, f64::MAX, f64::MIN_POSITIVE, 5e-324] {
            let text = prom(v);
            assert_eq!(text.parse::<f64>().unwrap(), v, "{text}");
            assert!(!text.contains("inf") && !text.contains("nan"), "{text}");
        }
    }

    #[test]
    fn json_specials_are_strings_and_finite_values_numbers() {
        assert_eq!(json(f64::NAN), "\"NaN\"");
        assert_eq!(json(f64::INFINITY), "\"+Inf\"");
        assert_eq!(json(f64::NEG_INFINITY), "\"-Inf\"");
        assert_eq!(json(1.0), "1.0");
        assert_eq!(json(1e300), "1e300");
        assert_eq!(json(-1.5e-7).parse::<f64>().unwrap(), -1.5e-7);
    }

    #[test]
    fn unsigned_counts() {
        let mut buf = Vec::new();
        push_u64(&mut buf, u64::MAX);
        assert_eq!(buf, b"18446744073709551615");
    }
}

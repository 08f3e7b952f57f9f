//! Prometheus 3 name escaping: how a metric or label name outside the legacy
//! syntax (`[a-zA-Z_:][a-zA-Z0-9_:]*`, labels without `:`) is written for a
//! client that cannot read it quoted. The client names the scheme in the
//! `escaping=` parameter of `Accept`; the rules are those of Prometheus'
//! `model.EscapeName`:
//! - `allow-utf-8`: names stay as they are (the renderer quotes them);
//! - `underscores`: every character outside the syntax becomes `_`;
//! - `dots`: `_` becomes `__`, `.` becomes `_dot_`, others `__`;
//! - `values`: `U__` then `_` as `__` and others as `_<hex code point>_`;
//!   legacy names stay as they are.
//!
//! Legacy names are unchanged by every scheme but `dots`, which doubles
//! their underscores (so that escaping can be undone).
use metrics_render_core::{is_valid_label_name, is_valid_metric_name};
use std::borrow::Cow;
use std::fmt::Write;

/// A name escaping scheme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NameEscaping {
    /// Names as they are.
    AllowUtf8,
    /// What a legacy client gets.
    #[default]
    Underscores,
    /// `_` as `__`, `.` as `_dot_`, other characters outside the syntax as `__`.
    Dots,
    /// `U__`, then `_` as `__` and others as `_<hex code point>_`.
    Values,
}

/// Which names a scheme is applied to: label names may not contain `:`.
#[derive(Clone, Copy)]
enum NameKind {
    Metric,
    Label,
}

impl NameKind {
    fn is_legacy(self, name: &str) -> bool {
        match self {
            NameKind::Metric => is_valid_metric_name(name),
            NameKind::Label => is_valid_label_name(name),
        }
    }

    fn legacy_char(self, c: char, first: bool) -> bool {
        c.is_ascii_alphabetic() || c == '_' || (c == ':' && matches!(self, NameKind::Metric)) || (!first && c.is_ascii_digit())
    }
}

impl NameEscaping {
    /// The scheme named by an `escaping=` value; `None` for unknown names
    /// (which a client's request then ignores). Both `allow-utf-8` (what
    /// Prometheus sends) and `allow-utf8` (one spec page) are accepted.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "allow-utf-8" | "allow-utf8" => Some(NameEscaping::AllowUtf8),
            "underscores" => Some(NameEscaping::Underscores),
            "dots" => Some(NameEscaping::Dots),
            "values" => Some(NameEscaping::Values),
            _ => None,
        }
    }

    /// The `escaping=` value stating this scheme in a `Content-Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameEscaping::AllowUtf8 => "allow-utf-8",
            NameEscaping::Underscores => "underscores",
            NameEscaping::Dots => "dots",
            NameEscaping::Values => "values",
        }
    }

    /// A metric name as this scheme writes it.
    pub fn metric_name(self, name: &str) -> Cow<'_, str> {
        self.escape(name, NameKind::Metric)
    }

    /// A label name as this scheme writes it.
    pub fn label_name(self, name: &str) -> Cow<'_, str> {
        self.escape(name, NameKind::Label)
    }

    fn escape(self, name: &str, kind: NameKind) -> Cow<'_, str> {
        let legacy = kind.is_legacy(name);
        match self {
            NameEscaping::AllowUtf8 => Cow::Borrowed(name),
            NameEscaping::Underscores | NameEscaping::Values if legacy => Cow::Borrowed(name),
            NameEscaping::Underscores => {
                Cow::Owned(name.chars().enumerate().map(|(i, c)| if kind.legacy_char(c, i == 0) { c } else { '_' }).collect())
            }
            NameEscaping::Dots => {
                let mut escaped = String::with_capacity(name.len() + 8);
                for (i, c) in name.chars().enumerate() {
                    match c {
                        '_' => escaped.push_str("__"),
                        '.' => escaped.push_str("_dot_"),
                        c if kind.legacy_char(c, i == 0) => escaped.push(c),
                        _ => escaped.push_str("__"),
                    }
                }
                Cow::Owned(escaped)
            }
            NameEscaping::Values => {
                let mut escaped = String::with_capacity(name.len() + 16);
                escaped.push_str("U__");
                for (i, c) in name.chars().enumerate() {
                    match c {
                        '_' => escaped.push_str("__"),
                        c if kind.legacy_char(c, i == 0) => escaped.push(c),
                        c => {
                            let _ = write!(escaped, "_{:x}_", c as u32);
                        }
                    }
                }
                Cow::Owned(escaped)
            }
        }
    }
}

impl NameEscaping {
    /// Undoes [`NameEscaping::metric_name`] where the scheme can be undone
    /// (Prometheus' `UnescapeName`): `values` exactly (a name without the
    /// `U__` mark is legacy and stays as it is), `dots` for names whose only
    /// characters outside the legacy syntax are `.` (it writes every other
    /// one as `__`, like `_`). `None` for text the scheme cannot have
    /// written, and for `underscores`, which cannot be undone.
    pub fn unescape(self, escaped: &str) -> Option<String> {
        match self {
            NameEscaping::AllowUtf8 => Some(escaped.to_string()),
            NameEscaping::Underscores => None,
            NameEscaping::Dots => {
                let mut out = String::with_capacity(escaped.len());
                let mut rest = escaped;
                while let Some(c) = rest.chars().next() {
                    if let Some(after) = rest.strip_prefix("__") {
                        out.push('_');
                        rest = after;
                    } else if let Some(after) = rest.strip_prefix("_dot_") {
                        out.push('.');
                        rest = after;
                    } else if c == '_' {
                        return None;
                    } else {
                        out.push(c);
                        rest = &rest[c.len_utf8()..];
                    }
                }
                Some(out)
            }
            NameEscaping::Values => {
                let Some(mut rest) = escaped.strip_prefix("U__") else { return Some(escaped.to_string()) };
                let mut out = String::with_capacity(rest.len());
                while let Some(c) = rest.chars().next() {
                    if let Some(after) = rest.strip_prefix("__") {
                        out.push('_');
                        rest = after;
                    } else if c == '_' {
                        let end = rest[1..].find('_')? + 1;
                        let code = u32::from_str_radix(&rest[1..end], 16).ok()?;
                        out.push(char::from_u32(code)?);
                        rest = &rest[end + 1..];
                    } else {
                        out.push(c);
                        rest = &rest[c.len_utf8()..];
                    }
                }
                Some(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NameEscaping::*;
    use super::*;

    /// Expected values from Prometheus' `model.EscapeName` test table.
    #[test]
    fn schemes_match_prometheus_escape_name() {
        let cases = [
            ("no:escaping_required", "no:escaping_required", "no:escaping__required", "no:escaping_required"),
            (
                "mysystem.prod.west.cpu.load",
                "mysystem_prod_west_cpu_load",
                "mysystem_dot_prod_dot_west_dot_cpu_dot_load",
                "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load",
            ),
            (
                "mysystem.prod.west.cpu.load_total",
                "mysystem_prod_west_cpu_load_total",
                "mysystem_dot_prod_dot_west_dot_cpu_dot_load__total",
                "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total",
            ),
            ("http.status:sum", "http_status:sum", "http_dot_status:sum", "U__http_2e_status:sum"),
            ("label with 😱", "label_with__", "label__with____", "U__label_20_with_20__1f631_"),
            ("label with ✨", "label_with__", "label__with____", "U__label_20_with_20__2728_"),
            ("1leading", "_leading", "__leading", "U___31_leading"),
        ];
        for (name, underscores, dots, values) in cases {
            assert_eq!(Underscores.metric_name(name), underscores, "{name}");
            assert_eq!(Dots.metric_name(name), dots, "{name}");
            assert_eq!(Values.metric_name(name), values, "{name}");
            assert_eq!(AllowUtf8.metric_name(name), name);
        }
    }

    #[test]
    fn label_names_lose_colons() {
        assert_eq!(Underscores.label_name("a:b.c"), "a_b_c");
        assert_eq!(Values.label_name("a:b"), "U__a_3a_b");
        assert_eq!(Underscores.label_name("plain_label"), "plain_label");
    }

    #[test]
    fn both_spellings_of_allow_utf8_and_unknown_values() {
        assert_eq!(NameEscaping::parse("allow-utf-8"), Some(AllowUtf8));
        assert_eq!(NameEscaping::parse("allow-utf8"), Some(AllowUtf8));
        assert_eq!(NameEscaping::parse("Underscores"), Some(Underscores));
        assert_eq!(NameEscaping::parse("bogus"), None);
        for scheme in [AllowUtf8, Underscores, Dots, Values] {
            assert_eq!(NameEscaping::parse(scheme.as_str()), Some(scheme));
        }
    }

    #[test]
    fn values_and_dots_escaping_can_be_undone() {
        for name in ["mysystem.prod.west.cpu.load_total", "label with 😱", "1leading", "plain_name", "a.b_c:d"] {
            assert_eq!(Values.unescape(&Values.metric_name(name)).as_deref(), Some(name), "{name}");
        }
        assert_eq!(Dots.unescape(&Dots.metric_name("mysystem.prod.cpu_load")).as_deref(), Some("mysystem.prod.cpu_load"));
        assert_eq!(Dots.unescape("a_b"), None, "a lone underscore is not what dots writes");
        assert_eq!(Values.unescape("U___zz_"), None);
        assert_eq!(Underscores.unescape("a_b"), None);
    }
}

//! The query string of the metrics endpoints: `prefix` and `format` at most
//! once each, `name[]` as often as wanted (exact family names, matched
//! before the prefix is applied, as in client_golang and Python's
//! restricted registry). An empty `name[]` (a form's empty field; no family
//! has an empty name) is ignored. Other keys are ignored.
use crate::snapshot::FamilyFilter;

/// A parsed query string.
#[derive(Debug, Default, PartialEq)]
pub struct MetricsQuery {
    /// Prepended to every family name.
    pub prefix: Option<String>,
    /// Output format (only on `/metrics`).
    pub format: Option<String>,
    /// Families asked for with `name[]`; empty for all.
    pub names: Vec<String>,
}

/// Most `name[]` values one request may carry.
pub const MAX_NAMES: usize = 1024;

impl MetricsQuery {
    /// Parses `query` (without the `?`); the error says what is wrong.
    pub fn parse(query: Option<&str>) -> Result<Self, String> {
        let mut parsed = MetricsQuery::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let once = |slot: &mut Option<String>| {
                if slot.is_some() {
                    return Err(format!("{key:?} is given more than once"));
                }
                *slot = Some(value.to_string());
                Ok(())
            };
            match key.as_ref() {
                "prefix" => once(&mut parsed.prefix)?,
                "format" => once(&mut parsed.format)?,
                "name[]" if value.is_empty() => {}
                "name[]" => {
                    if parsed.names.len() == MAX_NAMES {
                        return Err(format!("more than {MAX_NAMES} name[] values"));
                    }
                    parsed.names.push(value.into_owned());
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// The families to snapshot.
    pub fn families(&self) -> FamilyFilter {
        if self.names.is_empty() {
            FamilyFilter::All
        } else {
            FamilyFilter::Names(self.names.iter().cloned().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_once_only_prefix_and_format() {
        let q = MetricsQuery::parse(Some("name[]=a&prefix=p_&name%5B%5D=b%20c&format=json&other=1")).unwrap();
        assert_eq!(q.prefix.as_deref(), Some("p_"));
        assert_eq!(q.format.as_deref(), Some("json"));
        assert_eq!(q.names, ["a", "b c"]);
        assert!(MetricsQuery::parse(Some("prefix=a&prefix=b")).unwrap_err().contains("\"prefix\" is given more than once"));
        assert!(MetricsQuery::parse(Some("format=a&format=b")).is_err());
        assert_eq!(MetricsQuery::parse(None).unwrap(), MetricsQuery::default());
        assert!(matches!(MetricsQuery::parse(Some("")).unwrap().families(), FamilyFilter::All));
        assert!(matches!(MetricsQuery::parse(Some("name[]=&prefix=")).unwrap().families(), FamilyFilter::All), "an empty form field");
        let many: String = (0..=MAX_NAMES).map(|i| format!("name[]=f{i}&")).collect();
        assert!(MetricsQuery::parse(Some(&many)).is_err());
    }
}

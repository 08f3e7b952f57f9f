//! `GET /`: the landing page an exporter is expected to have (trusted
//! peers only, like every route): the program and its version, the
//! endpoints as links, every format on offer with a link and its content
//! type, and a form for `format`, `prefix` and `name[]`. Plain HTML, no
//! external assets, no script; every text from outside the page (format
//! names and descriptions, content types, the plugins folder) is escaped.
use super::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write as _;

/// `text` with the five characters HTML gives meaning to escaped.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A format name as a URL query value (names are `[a-z][a-z0-9_-]*` for
/// plugins and the built-ins; anything else is percent-encoded).
fn query_value(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub async fn landing_page(State(app): State<AppState>) -> impl IntoResponse {
    let set = app.renders.renderers().current();
    let mut page = String::with_capacity(4096);
    let version = env!("CARGO_PKG_VERSION");
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>metrics-host {version}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         code{{font-size:.9em}}table{{border-collapse:collapse}}td,th{{text-align:left;padding:.2rem .8rem .2rem 0;vertical-align:top}}\
         label{{display:block;margin:.4rem 0}}</style>\n</head>\n<body>\n\
         <h1>metrics-host <small>{version}</small></h1>\n\
         <p>Metric snapshots rendered by sandboxed WebAssembly components.</p>\n<h2>Endpoints</h2>\n<ul>\n\
         <li><a href=\"/metrics\">/metrics</a>: Prometheus text, or what the <code>Accept</code> header negotiates (a browser gets the <a href=\"/metrics?format=html\">HTML view</a>)</li>\n\
         <li><a href=\"/metrics.json\">/metrics.json</a>: the same data in the metrics.json shape</li>\n\
         <li><a href=\"/-/plugins\">/-/plugins</a>: the renderers, their formats and state</li>\n"
    );
    if app.pushers.is_some() {
        page.push_str("<li><a href=\"/-/push\">/-/push</a>: each push endpoint's status</li>\n");
    }
    page.push_str("</ul>\n<h2>Formats</h2>\n<table>\n<tr><th>format</th><th>content type</th><th>renderer</th></tr>\n");
    for offered in set.offered() {
        let info = &offered.info;
        let _ = writeln!(
            page,
            "<tr><td><a href=\"/metrics?format={}\">{}</a></td><td><code>{}</code></td><td>{}</td></tr>",
            query_value(&info.name),
            escape_html(&info.name),
            escape_html(&info.content_type),
            if offered.builtin { "built-in" } else { "plugin" }
        );
    }
    page.push_str(
        "</table>\n<h2>Ask for a view</h2>\n<form action=\"/metrics\" method=\"get\">\n\
         <label>format <select name=\"format\">\n",
    );
    for offered in set.offered() {
        let name = escape_html(&offered.info.name);
        let selected = if offered.info.name == "prometheus" { " selected" } else { "" };
        let _ = writeln!(page, "<option value=\"{name}\"{selected}>{name}</option>");
    }
    page.push_str(
        "</select></label>\n\
         <label>prefix <input name=\"prefix\" pattern=\"[a-zA-Z_:][a-zA-Z0-9_:]*\" placeholder=\"kumomta_\"></label>\n\
         <label>family (<code>name[]</code>, exact name; empty for all) <input name=\"name[]\"></label>\n\
         <button type=\"submit\">render</button>\n</form>\n</body>\n</html>\n",
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_outside_text_is_escaped() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(query_value("a b&c"), "a+b%26c");
    }
}

//! `GET /`: the landing page. Read by Python's HTML parser (not ours):
//! every link and the form's target answer 200 from the server, every
//! format on offer is linked, nothing from outside the page is markup, and
//! the page is for trusted peers only, like every route.
mod common;

use common::validators::{python, run_with_stdin};
use common::{get, start};
use metrics_host::registry::Registry;
use serde_json::Value;

/// Links, the form (action, field names, options) and the text of the page,
/// as Python's `html.parser` reads them.
const READ_PAGE: &str = r#"
import json, sys
from html.parser import HTMLParser
class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.forms, self.fields, self.options, self.scripts, self.text = [], [], [], [], 0, []
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a": self.links.append(attrs.get("href"))
        if tag == "form": self.forms.append([attrs.get("action"), attrs.get("method")])
        if tag in ("input", "select"): self.fields.append(attrs.get("name"))
        if tag == "option": self.options.append(attrs.get("value"))
        if tag == "script" or any(k.startswith("on") for k in attrs): self.scripts += 1
    def handle_data(self, data): self.text.append(data)
page = Page()
page.feed(sys.stdin.read())
page.close()
print(json.dumps({"links": page.links, "forms": page.forms, "fields": page.fields, "options": page.options, "scripts": page.scripts, "text": "".join(page.text)}))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_landing_page_links_every_endpoint_and_format_and_every_link_answers() {
    let registry = Registry::new();
    registry.gauge("queue_depth", "depth").unwrap().set(3.0);
    registry.counter("delivered_total", "delivered").unwrap().inc_by(2);
    let server = start(registry, "127.0.0.1:0", &["127.0.0.1"]).await;
    let addr = server.local_addr;
    let r = get(addr, "/", &[("accept", "text/html")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let (code, out, err) = run_with_stdin(&python(), &["-c", READ_PAGE], &r.body);
    assert_eq!(code, 0, "{err}");
    let page: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(page["scripts"], 0, "no script, no event handlers");
    assert!(page["text"].as_str().unwrap().contains(&format!("metrics-host {}", env!("CARGO_PKG_VERSION"))), "{page}");
    let links: Vec<&str> = page["links"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    for endpoint in ["/metrics", "/metrics.json", "/-/plugins"] {
        assert!(links.contains(&endpoint), "{endpoint} in {links:?}");
    }
    for format in ["prometheus", "json", "protobuf"] {
        assert!(links.contains(&format!("/metrics?format={format}").as_str()), "{format} in {links:?}");
        assert!(page["options"].as_array().unwrap().iter().any(|o| o == format), "{format} in the form");
    }
    for link in &links {
        assert_eq!(get(addr, link, &[]).await.status, 200, "{link}");
    }
    // The form as a browser submits it with its fields left empty: every family.
    assert_eq!(page["forms"], serde_json::json!([["/metrics", "get"]]));
    assert_eq!(page["fields"], serde_json::json!(["format", "prefix", "name[]"]));
    let all = get(addr, "/metrics?format=prometheus&prefix=&name%5B%5D=", &[]).await;
    assert_eq!(all.status, 200);
    assert!(all.text().contains("queue_depth 3\n") && all.text().contains("delivered_total 2\n"), "{}", all.text());
    let one = get(addr, "/metrics?format=prometheus&prefix=kumo_&name%5B%5D=queue_depth", &[]).await;
    assert!(one.text().contains("kumo_queue_depth 3\n") && !one.text().contains("delivered"), "{}", one.text());
    server.stop().await.unwrap();

    let untrusted = start(Registry::new(), "127.0.0.1:0", &["10.0.0.0/8"]).await;
    assert_eq!(get(untrusted.local_addr, "/", &[]).await.status, 401, "trusted peers only, as every route");
    untrusted.stop().await.unwrap();
}

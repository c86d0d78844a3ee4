//! HTML building: escaping and the page layout (navigation, language switch,
//! sign-out form). No inline script or style: the CSP forbids both.

use crate::i18n::{Lang, Msg};
use crate::Ctx;

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// Percent-encode one URL path segment or query value.
pub fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The navigation, in this order (the issue names them).
pub const NAV: [(Msg, &str); 5] = [
    (Msg::Cases, "/console/cases/"),
    (Msg::Alerts, "/console/alerts/"),
    (Msg::Intel, "/console/intel/"),
    (Msg::EarlyWarning, "/console/ews/"),
    (Msg::Audit, "/console/audit/"),
];

/// The current URL with `lang` set to `l` (other parameters kept).
fn lang_link(ctx: &Ctx, l: Lang) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if let Some(query) = &ctx.query {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k != "lang" {
                q.append_pair(&k, &v);
            }
        }
    }
    q.append_pair("lang", l.tag());
    format!("{}?{}", ctx.path, q.finish())
}

/// A hidden CSRF field for a form of this session.
pub fn csrf_field(ctx: &Ctx) -> String {
    match &ctx.session {
        Some(s) => format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(&s.session.csrf)
        ),
        None => String::new(),
    }
}

/// The element a case page draws its graph into.
pub const CASE_GRAPH: &str = "<div id=\"case-graph\"";

/// The whole page around `body`.
pub fn layout(ctx: &Ctx, title: &str, body: &str) -> String {
    let mut h = String::with_capacity(body.len() + 2048);
    h.push_str(&format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — tripoint</title>\
         <link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
         <script src=\"/console/assets/console.js\" defer></script>{}</head><body>",
        ctx.lang.tag(),
        esc(title),
        // Only a case page loads the graph library.
        if body.contains(CASE_GRAPH) {
            "<script src=\"/console/assets/cytoscape.min.js\" defer></script>\
             <script src=\"/console/assets/case.js\" defer></script>"
        } else {
            ""
        }
    ));
    h.push_str("<header class=\"top\"><a class=\"brand\" href=\"/console/\">tripoint</a>");
    if ctx.caller.is_some() {
        h.push_str(&format!(
            "<nav class=\"main\" aria-label=\"{}\"><ul>",
            esc(ctx.t(Msg::MainNav))
        ));
        for (m, href) in NAV {
            let current = ctx.path.starts_with(href);
            h.push_str(&format!(
                "<li><a href=\"{href}\"{}>{}</a></li>",
                if current {
                    " aria-current=\"page\""
                } else {
                    ""
                },
                esc(ctx.t(m))
            ));
        }
        h.push_str("</ul></nav>");
    }
    h.push_str(&format!(
        "<nav class=\"langs\" aria-label=\"{}\"><ul>",
        esc(ctx.t(Msg::LanguageNav))
    ));
    for l in Lang::ALL {
        h.push_str(&format!(
            "<li><a href=\"{}\" lang=\"{}\" hreflang=\"{}\"{}>{}</a></li>",
            esc(&lang_link(ctx, l)),
            l.tag(),
            l.tag(),
            if l == ctx.lang {
                " aria-current=\"true\""
            } else {
                ""
            },
            l.own_name()
        ));
    }
    h.push_str("</ul></nav>");
    if let Some(c) = &ctx.caller {
        h.push_str(&format!(
            "<div class=\"who\"><span>{} <strong>{}</strong></span>",
            esc(ctx.t(Msg::SignedInAs)),
            esc(&c.partner)
        ));
        if ctx.session.is_some() {
            h.push_str(&format!(
                "<form method=\"post\" action=\"/console/logout\">{}<button type=\"submit\">{}</button></form>",
                csrf_field(ctx),
                esc(ctx.t(Msg::SignOut))
            ));
        }
        h.push_str("</div>");
    }
    h.push_str("</header><main id=\"main\">");
    h.push_str(&format!("<h1>{}</h1>", esc(title)));
    h.push_str(body);
    h.push_str("</main></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url("a b/c?"), "a+b%2Fc%3F");
    }
}

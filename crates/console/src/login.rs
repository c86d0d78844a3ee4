//! Sign-in and sign-out. The form's `username` and `password` are checked by
//! `Exchange::authenticate`, exactly as a Basic header would be (argon2 on a
//! blocking thread, the per-source and per-user failure limits). The sign-in
//! form carries a double-submit CSRF token (a cookie for the sign-in path
//! and the same value in the form), so no other site can sign a browser in
//! to an account of its choosing; every later form carries the session's
//! token.

use crate::html::esc;
use crate::i18n::Msg;
use crate::{error_page, page_with_status, Console, ConsoleError, Ctx};
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;
use tripoint_taxii::auth::basic_authorization;
use tripoint_taxii::server::{audit_note, signed_in};
use tripoint_taxii::session::{cookie, random_token, same_secret, SESSION_COOKIE, SESSION_TTL};

/// The double-submit cookie of the sign-in form.
const LOGIN_COOKIE: &str = "tripoint_login";

fn see_other(location: &'static str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    resp
}

fn set_cookie(resp: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The sign-in page with a fresh form token (and an optional message).
fn form_page(
    c: &Console,
    ctx: &Ctx,
    status: StatusCode,
    message: Option<Msg>,
    action: &'static str,
) -> Response {
    let token = match random_token() {
        Ok(t) => t,
        Err(e) => return error_page(ctx, &ConsoleError::Internal(e.to_string()), action),
    };
    let mut body = String::new();
    if let Some(m) = message {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            esc(ctx.t(m))
        ));
    }
    body.push_str(&format!(
        "<p>{help}</p><form class=\"signin\" method=\"post\" action=\"/console/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <p><label for=\"username\">{user}</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required></p>\
         <p><label for=\"password\">{pass}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\
         <p><button type=\"submit\">{signin}</button></p></form>",
        help = esc(ctx.t(Msg::SignInHelp)),
        user = esc(ctx.t(Msg::Username)),
        pass = esc(ctx.t(Msg::Password)),
        signin = esc(ctx.t(Msg::SignIn)),
    ));
    let mut resp = page_with_status(ctx, status, ctx.t(Msg::SignIn), &body, action, None);
    set_cookie(
        &mut resp,
        format!(
            "{LOGIN_COOKIE}={token}; Path=/console/login; Max-Age=3600; HttpOnly; SameSite=Strict{}",
            c.secure()
        ),
    );
    resp
}

pub(crate) async fn form(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    if ctx.session.is_some() {
        return audit_note(see_other("/console/"), "console-sign-in-page", None);
    }
    form_page(&c, &ctx, StatusCode::OK, None, "console-sign-in-page")
}

pub(crate) async fn submit(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    const ACTION: &str = "console-sign-in";
    let sent = fields.get("csrf").map(String::as_str).unwrap_or("");
    let expected = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, LOGIN_COOKIE))
        .unwrap_or("");
    if expected.is_empty() || !same_secret(sent, expected) {
        return form_page(
            &c,
            &ctx,
            StatusCode::FORBIDDEN,
            Some(Msg::FormExpired),
            ACTION,
        );
    }
    let user = fields.get("username").map(String::as_str).unwrap_or("");
    let password = fields.get("password").map(String::as_str).unwrap_or("");
    let authorization = basic_authorization(user, password);
    let source = ctx.source;
    match c.exchange.authenticate(Some(&authorization), source).await {
        Ok(caller) => {
            let (token, _) = match c.sessions.create(caller.clone()) {
                Ok(s) => s,
                Err(e) => return error_page(&ctx, &ConsoleError::Internal(e.to_string()), ACTION),
            };
            let mut resp = see_other("/console/");
            set_cookie(
                &mut resp,
                format!(
                    "{SESSION_COOKIE}={token}; Path=/console/; Max-Age={}; HttpOnly; SameSite=Strict{}",
                    SESSION_TTL.as_secs(),
                    c.secure()
                ),
            );
            set_cookie(
                &mut resp,
                format!(
                    "{LOGIN_COOKIE}=; Path=/console/login; Max-Age=0; HttpOnly; SameSite=Strict{}",
                    c.secure()
                ),
            );
            signed_in(audit_note(resp, ACTION, None), &caller.partner)
        }
        Err(tripoint_taxii::Error::Unauthenticated) => form_page(
            &c,
            &ctx,
            StatusCode::UNAUTHORIZED,
            Some(Msg::BadCredentials),
            ACTION,
        ),
        Err(tripoint_taxii::Error::TooManyRequests { retry_after_secs }) => {
            let mut resp = form_page(
                &c,
                &ctx,
                StatusCode::TOO_MANY_REQUESTS,
                Some(Msg::TooManyAttempts),
                ACTION,
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            resp
        }
        Err(e) => error_page(&ctx, &ConsoleError::Exchange(e), ACTION),
    }
}

/// Check the CSRF token a form of this session sent.
pub(crate) fn check_csrf(ctx: &Ctx, fields: &HashMap<String, String>) -> Result<(), ConsoleError> {
    let session = ctx.session.as_ref().ok_or(ConsoleError::Csrf)?;
    let sent = fields.get("csrf").map(String::as_str).unwrap_or("");
    if same_secret(sent, &session.session.csrf) {
        Ok(())
    } else {
        Err(ConsoleError::Csrf)
    }
}

pub(crate) async fn logout(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    const ACTION: &str = "console-sign-out";
    if let Err(e) = check_csrf(&ctx, &fields) {
        return error_page(&ctx, &e, ACTION);
    }
    if let Some(s) = &ctx.session {
        c.sessions.end(&s.token);
    }
    let mut resp = see_other("/console/login");
    set_cookie(
        &mut resp,
        format!(
            "{SESSION_COOKIE}=; Path=/console/; Max-Age=0; HttpOnly; SameSite=Strict{}",
            c.secure()
        ),
    );
    audit_note(resp, ACTION, None)
}

//! `GET /api/v1/openapi.json`: the API for integrators (OpenAPI 3.1). Written
//! by hand beside the routers; a test reads the routers' and the filter
//! parser's source and fails when a routed API or webhook path, or a query
//! parameter the code parses, is not described.

use axum::Json;
use serde_json::{Value, json};

/// The filter parameters of `shared/spec/api.md` (and `range`).
const FILTERS: &[(&str, &str)] = &[
    (
        "from",
        "first day, YYYY-MM-DD (1970–9999), inclusive, in `tz` (default: 7 days ago)",
    ),
    (
        "to",
        "last day, YYYY-MM-DD, inclusive (default: today); at most 10 years after `from`",
    ),
    ("tz", "IANA time zone (default: the server's --tz)"),
    (
        "q",
        "part of a name or e-mail, or phone digits in any format",
    ),
    ("channel", "one channel or a comma-separated list"),
    (
        "source",
        "first source: a platform (meta), a source id, the name of a source without an id, or `none`",
    ),
    (
        "last_source",
        "last source, tested as `source` tests the first (an extension of the spec)",
    ),
    (
        "touched",
        "`yes` (answered) or `no` (awaiting first response)",
    ),
    (
        "quality",
        "answered, engaged, one_message, buyer or not_… forms, comma-separated (all must hold)",
    ),
    (
        "capi",
        "Conversions API state: sent, pending, rejected or not_sendable",
    ),
    (
        "range",
        "today, yesterday, 7d, 30d, this_month, last_month (from/to win)",
    ),
];
const PAGING: &[(&str, &str)] = &[
    (
        "sort",
        "-date (default), date, -first_touched_at, first_touched_at, name, -name",
    ),
    ("limit", "page size, 1–500 (default 50)"),
    ("cursor", "opaque, from the previous page's next_cursor"),
];

/// What the server accepts for a query parameter: a generated client or
/// a fuzzer (schemathesis) and the server then agree on what is valid. An
/// empty value is the parameter left out (as a form sends an empty field).
fn schema_of(name: &str) -> Value {
    let channels = app::model::CHANNELS.join("|");
    match name {
        "from" | "to" => json!({"anyOf": [
            {"type": "string", "format": "date",
             "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$",
             "examples": ["2026-11-20"]},
            {"type": "string", "maxLength": 0}]}),
        "channel" => {
            json!({"type": "string", "pattern": format!("^(({channels})(,({channels}))*)?$")})
        }
        "touched" => json!({"type": "string", "enum": ["yes", "no", ""]}),
        "quality" => json!({"type": "string",
            "pattern": "^(((not_)?(answered|engaged|one_message|buyer))(,(not_)?(answered|engaged|one_message|buyer))*)?$"}),
        "capi" => {
            json!({"type": "string", "enum": ["sent", "pending", "rejected", "not_sendable", ""]})
        }
        "range" => json!({"type": "string", "enum":
            ["today", "yesterday", "7d", "30d", "this_month", "last_month", ""]}),
        "sort" => json!({"type": "string", "enum":
            ["-date", "date", "-first_touched_at", "first_touched_at", "name", "-name", ""]}),
        "limit" => json!({"anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
            {"type": "string", "maxLength": 0}]}),
        "tz" => {
            // Every IANA name the server knows (chrono-tz), and empty.
            let mut zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
            zones.push("");
            json!({"type": "string", "enum": zones, "examples": ["Asia/Jakarta", "UTC"]})
        }
        _ => json!({"type": "string"}),
    }
}

/// The ads report's parameters: the filters plus attribution and count_by.
fn ads_params() -> serde_json::Value {
    let mut p = params(&[FILTERS]);
    if let Some(list) = p.as_array_mut() {
        list.push(json!({"name": "attribution", "in": "query", "schema": {"type": "string", "enum": ["first", "last"], "default": "first"}}));
        list.push(json!({"name": "count_by", "in": "query", "schema": {"type": "string", "enum": ["lead_date", "event_date"], "default": "lead_date"}}));
        let mut orders = vec![String::new()];
        for c in app::ssr::leads::ADS_ORDER_COLUMNS {
            orders.push(c.to_owned());
            orders.push(format!("-{c}"));
        }
        list.push(json!({"name": "sort", "in": "query", "description": "the rows' order: a column, - for descending; empty values last",
            "schema": {"type": "string", "enum": orders, "default": "-spend"}}));
    }
    p
}

fn params(list: &[&[(&str, &str)]]) -> Value {
    Value::Array(
        list.iter()
            .flat_map(|l| l.iter())
            .map(|(name, what)| {
                json!({"name": name, "in": "query", "required": false, "description": what,
                       "schema": schema_of(name)})
            })
            .collect(),
    )
}

/// The answer for an error status, in the API's error shape.
fn error(code: &str) -> Value {
    let what = match code {
        "400" => "a malformed parameter or body (names it), or a batch over 1000 events",
        "401" => "missing or wrong token or signature",
        "403" => "refused (verification token, host name, cross-site)",
        "404" => "no such lead or route",
        "413" => "body over 8 MiB",
        _ => "the database is unavailable",
    };
    json!({"description": what, "content": {"application/json":
        {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok_json(schema: Value) -> Value {
    json!({"description": "OK", "content": {"application/json": {"schema": schema}}})
}

/// The whole document.
pub fn document() -> Value {
    let source = json!({"type": ["object", "null"], "properties": {
        "platform": {"type": "string"}, "type": {"type": "string"}, "id": {"type": ["string", "null"]},
        "name": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]}}});
    let webhook = |name: &str| {
        json!({
            "get": {"summary": format!("{name} verification handshake"), "security": [],
                "parameters": [
                    {"name": "hub.mode", "in": "query", "schema": {"type": "string"}},
                    {"name": "hub.verify_token", "in": "query", "schema": {"type": "string"}},
                    {"name": "hub.challenge", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the challenge, as text/plain",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "403": {"description": "wrong verify token"}}},
            "post": {"summary": format!("{name} webhook (signed by Meta)"), "security": [],
                "parameters": [{"name": "X-Hub-Signature-256", "in": "header", "required": true,
                    "description": "sha256=HEX, HMAC-SHA256 of the raw body with the app secret",
                    "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "accepted": {"type": "integer"}, "duplicates": {"type": "integer"},
                    "skipped": {"type": "integer"}, "ignored": {"type": "integer"}}})), "400": error("400"),
                    "401": error("401"), "413": error("413"),
                    "503": {"description": "no app secret configured"}}}
        })
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Leads Dashboard API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "New customers who started a chat (leads), which ad brought them, and when they were first answered."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "200 ok once the database answers", "security": [],
                "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}},
                              "503": error("503")}}},
            "/api/v1/events": {"post": {"summary": "Ingest one event or a batch of at most 1000",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Event"},
                    {"type": "array", "maxItems": 1000, "items": {"$ref": "#/components/schemas/Event"}}]}}}},
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "accepted": {"type": "integer"}, "duplicates": {"type": "integer"}}})),
                    "400": error("400"), "401": error("401"),
                    "413": error("413"), "503": error("503")}}},
            "/api/v1/leads": {"get": {"summary": "One page of leads", "parameters": params(&[FILTERS, PAGING]),
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "leads": {"type": "array", "items": {"$ref": "#/components/schemas/Lead"}},
                    "total": {"type": "integer"}, "next_cursor": {"type": ["string", "null"]}}})),
                    "400": error("400"), "401": error("401")}}},
            "/api/v1/leads.csv": {"get": {"summary": "Every matching lead as CSV, streamed",
                "parameters": params(&[FILTERS, &PAGING[..1]]),
                "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                    "400": error("400"), "401": error("401")}}},
            "/api/v1/leads/summary": {"get": {"summary": "Totals and breakdowns for the filters",
                "parameters": params(&[FILTERS]),
                "responses": {"200": ok_json(json!({"$ref": "#/components/schemas/Summary"})),
                    "400": error("400"), "401": error("401")}}},
            "/api/v1/leads/{id}": {"get": {"summary": "One lead with its sessions and events",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
                    "description": "the lead id, percent-encoded (%2B6281…)"},
                    {"name": "tz", "in": "query", "schema": schema_of("tz")},
                    {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 4_294_967_295u64},
                     "description": "a previous answer's older: the window of events before it"}],
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "lead": {"$ref": "#/components/schemas/Lead"},
                    "sessions": {"type": "array", "items": {"type": "object"},
                        "description": "the sessions of the events in this window"},
                    "events": {"type": "array", "items": {"type": "object"},
                        "description": "the latest events (about 1000), in time order"},
                    "events_total": {"type": "integer", "description": "every event the lead has"},
                    "conversions": {"type": "array", "items": {"type": "object"},
                        "description": "every conversion of the lead: id, occurred_at, type, value, currency, detected_by, attributed, capi_state, capi_message"},
                    "capi": {"type": "object", "description": "the ad click and what Meta was told of each outcome"},
                    "older": {"type": ["integer", "null"], "description": "before= for the next older window; null: this window reaches the first event"}}})),
                    "400": error("400"), "401": error("401"), "404": error("404")}}},
            "/api/v1/ads": {"get": {"summary": "The ads report: per source, spend, leads, quality, buyers, revenue, cost per lead and per buyer, ROAS",
                "parameters": ads_params(),
                "responses": {"200": ok_json(json!({"type": "object", "description": "currency, attribution, count_by, rows [{source, spend, leads, cost_per_lead, answered, engaged, one_message, median_first_touch_seconds, buyers, revenue, cost_per_buyer, roas}], total"})),
                    "400": error("400"), "401": error("401")}}},
            "/api/v1/ads.csv": {"get": {"summary": "The ads report as CSV, a line per source and the total",
                "parameters": ads_params(),
                "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                    "400": error("400"), "401": error("401")}}},
            "/api/v1/spend": {"post": {"summary": "Ad spend per ad and day; a row for an ad's day that exists replaces it",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "array", "maxItems": 10000,
                    "items": {"type": "object", "required": ["date", "platform", "ad_id", "spend"], "properties": {
                        "date": {"type": "string", "format": "date"}, "platform": {"type": "string"},
                        "ad_id": {"type": "string"}, "spend": {"type": ["number", "string"]},
                        "ad_name": {"type": "string"}}}}}}},
                "responses": {"200": ok_json(json!({"type": "object", "properties": {"accepted": {"type": "integer"}}})),
                    "400": error("400"), "401": error("401")}}},
            "/api/v1/stats": {"get": {"summary": "Size of the in-memory lead index",
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "leads": {"type": "integer"}, "index_bytes": {"type": "integer"},
                    "bytes_per_lead": {"type": "integer"}, "sources": {"type": "integer"},
                    "intake": {"type": "object", "description": "per webhook intake since start: deliveries, refused, events by kind, dropped by kind, invalid, unknown_echo_apps"}}})),
                    "401": error("401")}}},
            "/api/v1/capi": {"get": {"summary": "Conversions API state: what is set (never the token), the last success and error, events per state, leads not sendable and past their window",
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "configured": {"type": "boolean"}, "dataset_id": {"type": ["string", "null"]},
                    "token_set": {"type": "boolean"}, "test_event_code_set": {"type": "boolean"},
                    "last_success": {"type": ["string", "null"], "format": "date-time"},
                    "last_error_at": {"type": ["string", "null"], "format": "date-time"},
                    "last_error": {"type": ["string", "null"]},
                    "pending": {"type": "integer"}, "sent": {"type": "integer"}, "rejected": {"type": "integer"},
                    "not_sendable": {"type": "integer", "description": "leads without an ad click's identifiers"},
                    "window_passed": {"type": ["integer", "null"], "description": "sendable leads with an outcome but nothing queued (every outcome more than 7 days after the click); null while sending is not set up"}}})),
                    "401": error("401")}}},
            "/api/v1/capi/closing_soon": {"get": {"summary": "Ad leads whose 7-day window ends within 48 hours with nothing sent, newest deadline first",
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "leads": {"type": "array", "items": {"type": "object", "properties": {
                        "lead": {"type": "object"}, "window_ends_at": {"type": "string", "format": "date-time"}}}}}})),
                    "401": error("401")}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                "responses": {"200": ok_json(json!({"type": "object"}))}}},
            "/webhooks/whatsapp": webhook("WhatsApp Cloud API"),
            "/webhooks/meta": webhook("Messenger and Instagram"),
            "/webhooks/chatwoot": {"post": {"summary": "Chatwoot account webhook", "security": [],
                "parameters": [
                    {"name": "X-Chatwoot-Signature", "in": "header", "required": true,
                     "description": "sha256=HEX, HMAC-SHA256 of \"TIMESTAMP.BODY\" with LEADS_CHATWOOT_SECRET",
                     "schema": {"type": "string"}},
                    {"name": "X-Chatwoot-Timestamp", "in": "header", "required": true,
                     "description": "Unix seconds; more than 5 minutes from now is refused",
                     "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": ok_json(json!({"type": "object", "properties": {
                    "accepted": {"type": "integer"}, "duplicates": {"type": "integer"},
                    "skipped": {"type": "integer"}, "ignored": {"type": "integer"}}})),
                    "400": error("400"), "401": error("401"), "413": error("413"),
                    "503": error("503")}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "a token from `leads-dashboard token create`, the settings page, or LEADS_API_TOKEN"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "param": {"type": "string"}, "index": {"type": "integer"},
                        "field": {"type": "string"}, "request_id": {"type": "string"}}}}},
                "Event": {"type": "object", "required": ["id", "occurred_at", "channel", "contact"],
                    "properties": {
                        "id": {"type": "string", "minLength": 1, "maxLength": 256},
                        "occurred_at": {"type": "string", "format": "date-time"},
                        "channel": {"type": "string", "enum": app::model::CHANNELS},
                        "direction": {"type": "string", "enum": ["inbound", "outbound"]},
                        "sender": {"type": "string", "enum": ["customer", "agent", "ai", "system"]},
                        "kind": {"type": "string", "enum": ["message", "resolved"]},
                        "contact": {"type": "object",
                            "description": "a phone or an external_id (neither may be empty or blank)",
                            "anyOf": [{"required": ["phone"]}, {"required": ["external_id"]}],
                            "properties": {
                            "phone": {"type": "string", "minLength": 1, "maxLength": 64,
                                "description": "digits with + - ( ) . / and spaces; a possible number"},
                            "external_id": {"type": "string", "minLength": 1, "maxLength": 128},
                            "name": {"type": "string", "maxLength": 256},
                            "email": {"type": "string", "maxLength": 254}}},
                        "source": source.clone()}},
                "Lead": {"type": "object", "properties": {
                    "id": {"type": "string"}, "date": {"type": "string", "format": "date-time"},
                    "name": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                    "email": {"type": ["string", "null"]}, "channel": {"type": "string"},
                    "first_source": source.clone(),
                    "first_touched_at": {"type": ["string", "null"], "format": "date-time"},
                    "last_source": source}},
                "Summary": {"type": "object", "properties": {
                    "total": {"type": "integer"}, "touched": {"type": "integer"},
                    "untouched": {"type": "integer"},
                    "median_first_touch_seconds": {"type": ["integer", "null"]},
                    "answered": {"type": "integer"}, "engaged": {"type": "integer"},
                    "one_message": {"type": "integer"}, "buyers": {"type": "integer"},
                    "revenue": {"type": "number"},
                    "by_day": {"type": "array", "items": {"type": "object", "properties": {
                        "day": {"type": "string", "format": "date"}, "count": {"type": "integer"}}}},
                    "by_source": {"type": "array", "items": {"type": "object", "properties": {
                        "source": {"type": ["object", "null"]}, "count": {"type": "integer"}}}},
                    "first_response": {"type": "object"}, "previous": {"type": ["object", "null"]}}}
            }
        }
    })
}

pub async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths the routers route, read from their source.
    fn routed() -> Vec<String> {
        let mut out = Vec::new();
        for (prefix, src) in [
            ("/api/v1", include_str!("events.rs")),
            ("/api/v1", include_str!("leads.rs")),
            ("", include_str!("mod.rs")),
        ] {
            for part in src.split(".route(").skip(1) {
                let path = part.trim_start().trim_start_matches('"');
                if let Some(end) = path.find('"') {
                    out.push(format!("{prefix}{}", &path[..end]));
                }
                // (`/api/v1/` only sends the bare prefix to the API's 401/404.)
                out.retain(|p| p != "/api/v1/");
            }
        }
        // The webhook routes are built from intake's table.
        out.extend(app::ssr::intake::CHANNELS.iter().map(|c| c.path.to_owned()));
        out
    }

    #[test]
    fn every_routed_api_and_webhook_path_is_described() {
        let doc = document();
        let routes = routed();
        assert!(routes.len() >= 9, "{routes:?}");
        for path in routes {
            assert!(
                doc["paths"].get(&path).is_some(),
                "{path} is not in the OpenAPI document"
            );
        }
        // Every filter the code parses is a described parameter.
        let described: Vec<&str> = doc["paths"]["/api/v1/leads"]["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        let filter = include_str!("../../../app/src/ssr/domain/filter.rs");
        let parsed: Vec<&str> = ["get(\"", "day(\""]
            .iter()
            .flat_map(|call| filter.split(call).skip(1))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(parsed.len() >= 10, "{parsed:?}");
        for name in parsed {
            assert!(described.contains(&name), "{name} is not described");
        }
    }
}

//! The one error type of the product. The HTTP API turns it into
//! `{"error": {"code": …, "message": …, …}}` (`shared/spec/api.md`); server
//! functions carry it to the browser as JSON.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// A query parameter (or server-function argument of the same name) is malformed.
    #[error("{param}: {message}")]
    InvalidParam { param: String, message: String },
    /// One event of a batch is invalid; the whole batch is rejected.
    #[error("event {index}, {field}: {message}")]
    InvalidEvent {
        index: usize,
        field: String,
        message: String,
    },
    #[error("a batch holds at most {max} events, this one holds {got}")]
    BatchTooLarge { max: usize, got: usize },
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    /// JSON, but not what the route takes (a webhook body of another shape).
    #[error("{0}")]
    InvalidBody(String),
    #[error("a valid API token is required (Authorization: Bearer …)")]
    Unauthorized,
    /// No such thing (a lead id, a route).
    #[error("{0}")]
    NotFound(String),
    /// A webhook body whose signature is missing or wrong; the message
    /// names the headers of the channel's scheme (`Scheme::refusal`), so
    /// that whoever set up the webhook looks at the right one.
    #[error("{0}")]
    BadSignature(String),
    /// A refused webhook verification handshake.
    #[error("the verification token does not match")]
    Forbidden,
    /// A browser's state-changing request from another site.
    #[error("requests from other sites are refused")]
    CrossSite,
    /// A feature that needs a setting nobody made (e.g. a webhook's secret).
    #[error("{0}")]
    NotConfigured(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A bounded resource is in full use (downloads, request bodies at
    /// once): the message, and the seconds to wait (`Retry-After`).
    #[error("{0}")]
    Busy(String, u32),
    #[error("internal error: {0}")]
    Internal(String),
    /// Transport-level failure of a server function (network, encoding).
    #[error("{0}")]
    ServerFn(String),
}

impl AppError {
    pub fn param(param: &str, message: impl Into<String>) -> Self {
        AppError::InvalidParam {
            param: param.to_owned(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidParam { .. } => "invalid_parameter",
            AppError::InvalidEvent { .. } => "invalid_event",
            // The spec's one code for a refused batch (events.md).
            AppError::BatchTooLarge { .. } => "invalid_event",
            AppError::InvalidJson(_) => "invalid_json",
            AppError::InvalidBody(_) => "invalid_body",
            AppError::Unauthorized => "unauthorized",
            AppError::NotFound(_) => "not_found",
            AppError::BadSignature(_) => "invalid_signature",
            AppError::Forbidden => "forbidden",
            AppError::CrossSite => "cross_site",
            AppError::NotConfigured(_) => "not_configured",
            AppError::Unavailable(_) => "unavailable",
            AppError::Busy(..) => "busy",
            AppError::Internal(_) => "internal",
            AppError::ServerFn(_) => "server_fn",
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::InvalidParam { .. }
            | AppError::InvalidEvent { .. }
            | AppError::InvalidJson(_)
            | AppError::InvalidBody(_)
            | AppError::BatchTooLarge { .. } => 400,
            AppError::Unauthorized => 401,
            AppError::NotFound(_) => 404,
            AppError::BadSignature(_) => 401,
            AppError::Forbidden | AppError::CrossSite => 403,
            AppError::NotConfigured(_) => 503,
            AppError::Unavailable(_) | AppError::Busy(..) => 503,
            AppError::Internal(_) | AppError::ServerFn(_) => 500,
        }
    }

    /// What may leave the server: the cause of a server-side failure (a
    /// database message, say) is for the log only, so it is replaced by a
    /// fixed text. Log `self` before calling this.
    pub fn public(self) -> Self {
        match self {
            AppError::Unavailable(_) => {
                AppError::Unavailable("please try again in a moment".into())
            }
            AppError::Internal(_) => AppError::Internal("see the server log".into()),
            other => other,
        }
    }

    /// The JSON error body of the API.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        match self {
            AppError::InvalidParam { param, message } => {
                body["param"] = param.clone().into();
                body["message"] = format!("{param}: {message}").into();
            }
            AppError::InvalidEvent {
                index,
                field,
                message,
            } => {
                body["index"] = (*index).into();
                body["field"] = field.clone().into();
                body["message"] = message.clone().into();
            }
            AppError::BatchTooLarge { max, .. } => {
                // The first event past the limit; no one field is at fault.
                body["index"] = (*max).into();
                body["field"] = "".into();
                body["max"] = (*max).into();
            }
            _ => {}
        }
        serde_json::json!({ "error": body })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::ServerFn(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused signature keeps its code, status and JSON shape; only the
    /// message names the channel's headers.
    #[test]
    fn a_bad_signature_answers_401_with_its_channels_message() {
        let e = AppError::BadSignature("the X-Chatwoot-Signature signature is wrong".into());
        assert_eq!((e.code(), e.status()), ("invalid_signature", 401));
        assert_eq!(
            e.to_json(),
            serde_json::json!({"error": {"code": "invalid_signature",
                "message": "the X-Chatwoot-Signature signature is wrong"}})
        );
        assert_eq!(e.clone().public(), e);
    }
}

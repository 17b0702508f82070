//! The HTTP layer's one error type: every failure answers as JSON `{"error", "message"}`.
//!
//! Internal errors are logged with their whole cause chain and answered with an opaque 500.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(thiserror::Error)]
pub enum AppError {
    #[error("请先登录")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Malformed input: the message names what and where.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that breaks a rule (a taken name, a wrong password).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict with a code of its own (an exam not open yet, time up), so clients can act
    /// on it without reading the message.
    #[error("{1}")]
    Refused(&'static str, String),
    /// A one-time password is still in use: everything but changing it waits.
    #[error("请先修改初始密码")]
    MustChangePassword,
    /// A page that must be seen elsewhere first (the forced password change).
    #[error("请前往 {0}")]
    SeeOther(String),
    #[error("尝试过于频繁，请 {retry_after} 秒后再试")]
    TooManyRequests { retry_after: u64 },
    #[error("服务器内部错误")]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Unexpected(e.into())
    }
}

impl std::fmt::Debug for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Unexpected(e) => write!(f, "{e:?}"),
            other => write!(f, "{other}"),
        }
    }
}

impl AppError {
    /// The machine-readable code in the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::Conflict(_) => "conflict",
            AppError::Refused(code, _) => code,
            AppError::MustChangePassword => "must_change_password",
            AppError::SeeOther(_) => "see_other",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unexpected(_) => "internal",
        }
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("没有权限执行此操作".into())
    }
}

/// The JSON body of every error.
pub fn body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": code, "message": message })
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) | AppError::Refused(..) => StatusCode::CONFLICT,
            AppError::MustChangePassword => StatusCode::FORBIDDEN,
            AppError::SeeOther(_) => StatusCode::SEE_OTHER,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Unexpected(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        if let AppError::SeeOther(to) = self {
            return res.insert_header(("Location", to.as_str())).finish();
        }
        if let AppError::TooManyRequests { retry_after } = self {
            res.insert_header(("Retry-After", retry_after.to_string()));
        }
        res.json(body(self.code(), &self.to_string()))
    }
}

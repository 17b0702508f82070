//! Who is asking: passwords (argon2), sessions (HttpOnly SameSite cookie, token hashed in
//! the records), CSRF (a per-session token every state-changing request must echo in the
//! `X-CSRF-Token` header), the role checks, and login rate limiting.

pub mod limiter;
pub mod sessions;

use crate::domain::Role;
use crate::error::AppError;
use crate::records::Db;
use crate::records::members::Member;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngExt;
pub use sessions::Sessions;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "biwu_session";
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// Sessions last twelve hours: a working day, plus an evening competition.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// A random token, URL-safe.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A one-time password people can read out and type: no 0/O, 1/l/I; always letters and digits
/// both, so that it passes the rules for a chosen password too.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    loop {
        let p: String = (0..12)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        if p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| c.is_ascii_lowercase()) {
            return p;
        }
    }
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, made once with the same parameters as real ones: logins of
/// unknown staff numbers are verified against it (and always fail).
pub fn stand_in_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        hash_password(&random_token(18)).expect("argon2 hashes a random password with a fresh salt")
    })
}

/// The passwords people choose first (shipped with the binary).
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// Rules for a new password; returns the reason it is refused: at least 10 characters, not
/// the staff number, not all of one kind of character (lower case, upper case, digits,
/// anything else), not one of the common passwords.
pub fn check_new_password(password: &str, staff_no: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 10 {
        return Err("新密码至少 10 个字符".into());
    }
    if n > 128 {
        return Err("新密码最多 128 个字符".into());
    }
    let lower = password.to_lowercase();
    if !staff_no.is_empty() && lower.contains(&staff_no.to_lowercase()) {
        return Err("新密码不能包含工号".into());
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < 2 {
        return Err("新密码至少要包含两类字符（小写字母、大写字母、数字、其他符号）".into());
    }
    let common = COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l.eq_ignore_ascii_case(&lower));
    if common {
        return Err("这个密码过于常见，请换一个".into());
    }
    Ok(())
}

/// The logged-in member of a request. Extracting it fails with 401 when there is no live
/// session, and with 403 when a state-changing request lacks the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub member: Member,
    pub csrf: String,
    pub token_hash: String,
}

impl Identity {
    pub fn role(&self) -> Role {
        self.member.role()
    }

    /// 403 unless the member has one of `roles`. Admins pass every check.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        let role = self.role();
        if role == Role::Admin || roles.contains(&role) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }
}

/// What identifying a request needs: the records and the sessions remembered. The HTTP layer
/// registers it as app data beside its own state, so this module never reaches up for the
/// server's state.
#[derive(Clone)]
pub struct Gate {
    pub db: Db,
    pub sessions: Arc<Sessions>,
}

/// The session token of a request, if it carries one.
pub fn session_token(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE).map(|c| c.value().to_string())
}

impl FromRequest for Identity {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<Gate>>()
                .ok_or_else(|| anyhow::anyhow!("auth::Gate missing from app data"))?
                .clone();
            let token = session_token(&req).ok_or(AppError::Unauthorized)?;
            let token_hash = hash_token(&token);
            let (member, csrf) = state
                .sessions
                .get(&state.db, &token_hash)
                .await?
                .ok_or(AppError::Unauthorized)?;
            if member.must_change_password == 1 && !allowed_before_change(req.path()) {
                // The one-time password was printed or read out: until it is changed, the
                // session may change it, say who it is, and log out — nothing else.
                return Err(if req.path().starts_with("/api/") || req.path() == "/ws" {
                    AppError::MustChangePassword
                } else {
                    let here = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/");
                    AppError::SeeOther(format!("/account?next={}", encode_component(here)))
                });
            }
            let safe = matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
            if !safe {
                let sent = req
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if sent != csrf {
                    return Err(AppError::Forbidden(
                        "缺少或错误的 CSRF 令牌（请刷新页面后重试）".into(),
                    ));
                }
            }
            Ok(Identity {
                member,
                csrf,
                token_hash,
            })
        })
    }
}

/// What a session still on its one-time password may use.
fn allowed_before_change(path: &str) -> bool {
    matches!(
        path,
        "/api/account/password" | "/api/logout" | "/api/me" | "/account" | "/login"
    )
}

/// `s` percent-encoded for a query parameter.
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Like [`Identity`] but optional: pages render for visitors too.
pub struct MaybeIdentity(pub Option<Identity>);

impl FromRequest for MaybeIdentity {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = Identity::from_request(req, payload);
        Box::pin(async move {
            match fut.await {
                Ok(id) => Ok(MaybeIdentity(Some(id))),
                Err(AppError::Unauthorized) | Err(AppError::Forbidden(_)) => {
                    Ok(MaybeIdentity(None))
                }
                Err(e) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_hashes_are_salted() {
        let h1 = hash_password("correct horse").unwrap();
        let h2 = hash_password("correct horse").unwrap();
        assert_ne!(h1, h2);
        assert!(verify_password("correct horse", &h1));
        assert!(!verify_password("wrong horse", &h1));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn one_time_passwords_are_readable_and_long_enough() {
        for _ in 0..200 {
            let p = one_time_password();
            assert_eq!(p.len(), 12);
            assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
            assert_eq!(check_new_password(&p, "d102"), Ok(()));
        }
    }

    #[test]
    fn new_passwords_follow_the_rules() {
        assert!(
            check_new_password("short-1", "d102")
                .unwrap_err()
                .contains("10")
        );
        assert!(
            check_new_password("my-d102-password", "d102")
                .unwrap_err()
                .contains("工号")
        );
        assert!(
            check_new_password("MY-D102-PASSWORD", "d102")
                .unwrap_err()
                .contains("工号")
        );
        assert!(
            check_new_password("abcdefghijkl", "d102")
                .unwrap_err()
                .contains("两类")
        );
        assert!(
            check_new_password("12345678901", "d102")
                .unwrap_err()
                .contains("两类")
        );
        assert!(
            check_new_password("Password123", "d102")
                .unwrap_err()
                .contains("常见")
        );
        assert!(
            check_new_password("woaini1314", "d102")
                .unwrap_err()
                .contains("常见")
        );
        assert!(check_new_password(&"a1".repeat(65), "d102").is_err());
        assert_eq!(check_new_password("phone-chosen-1", "d102"), Ok(()));
        assert_eq!(check_new_password("学习强国2026年度目标", "d102"), Ok(()));
    }
}

//! Bearer tokens: the `Principal` extractor and role checks.
//!
//! Tokens are 256 random bits; only their SHA-256 is stored. A request with
//! no token is public; one with an invalid, expired or revoked token is
//! refused with 401 even on a public endpoint, so a broken client notices.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::db;
use crate::error::ApiError;
use crate::startup::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Public,
    Authority,
    Enterprise,
    Clerk,
    Police,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Authority => "authority",
            Role::Enterprise => "enterprise",
            Role::Clerk => "clerk",
            Role::Police => "police",
        }
    }

    /// Roles a token can carry (not `public`).
    pub fn parse_token_role(s: &str) -> Option<Role> {
        match s {
            "authority" => Some(Role::Authority),
            "enterprise" => Some(Role::Enterprise),
            "clerk" => Some(Role::Clerk),
            "police" => Some(Role::Police),
            _ => None,
        }
    }
}

/// Who is calling: the role, the token id (for the event log) and, for an
/// enterprise token, the enterprise it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub token_id: Option<String>,
    pub enterprise: Option<String>,
}

impl Principal {
    pub fn public() -> Self {
        Principal {
            role: Role::Public,
            token_id: None,
            enterprise: None,
        }
    }

    /// The actor of work done from the command line on the server itself.
    pub fn operator() -> Self {
        Principal {
            role: Role::Authority,
            token_id: None,
            enterprise: None,
        }
    }

    /// Allows the call if the role is one of `roles`: 401 for the public,
    /// 403 for a token of another role.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else if self.role == Role::Public {
            Err(ApiError::unauthorized("this endpoint needs a bearer token"))
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// A new secret token and the hash that is stored for it.
pub fn generate_token() -> anyhow::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let secret = format!(
        "sct_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&secret);
    Ok((secret, hash))
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A short random identifier (for token and branch ids).
pub fn random_id(prefix: &str) -> anyhow::Result<String> {
    let mut bytes = [0u8; 9];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("expected 'Authorization: Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "expected 'Authorization: Bearer <token>'",
        ));
    }
    Ok(Some(token.trim().to_string()))
}

/// The principal of a token secret (from a header or a form field).
pub async fn principal_for_secret(
    state: &web::Data<AppState>,
    secret: &str,
) -> Result<Principal, ApiError> {
    let hash = hash_token(secret.trim());
    let found = state
        .db(move |conn| db::tokens::find_active_by_hash(conn, &hash, crate::clock::now()))
        .await?;
    let row =
        found.ok_or_else(|| ApiError::unauthorized("the token is unknown, expired or revoked"))?;
    let role = Role::parse_token_role(&row.role)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored token has an unknown role")))?;
    Ok(Principal {
        role,
        token_id: Some(row.id),
        enterprise: row.enterprise_uscc,
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let Some(secret) = token? else {
                return Ok(Principal::public());
            };
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            principal_for_secret(&state, &secret).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, ha) = generate_token().unwrap();
        let (b, hb) = generate_token().unwrap();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert!(a.len() >= 4 + 43, "{a}");
        assert_eq!(ha, hash_token(&a));
        assert_eq!(ha.len(), 64);
    }

    #[test]
    fn public_gets_401_and_wrong_role_403() {
        let public = Principal::public();
        let err = public.require(&[Role::Authority]).unwrap_err();
        assert_eq!(err.code(), "unauthorized");
        let clerk = Principal {
            role: Role::Clerk,
            token_id: Some("t".into()),
            enterprise: None,
        };
        assert_eq!(
            clerk.require(&[Role::Authority]).unwrap_err().code(),
            "forbidden"
        );
        assert!(clerk.require(&[Role::Clerk, Role::Police]).is_ok());
    }
}

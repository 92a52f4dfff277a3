//! Authentication at the edge: the bearer token of every call becomes a `Principal` in the request's
//! extensions, or the call ends with UNAUTHENTICATED before any handler runs.

use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::status::to_status;
use registratur_service::ServiceError;
use registratur_service::auth::{AuthError, Principal, TokenRegistry};

/// The interceptor placed in front of every registratur service (health and reflection excepted).
#[derive(Clone)]
pub(crate) struct Authenticator {
    pub(crate) tokens: Arc<TokenRegistry>,
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").and_then(|value| value.to_str().ok());
        let token = header
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .ok_or(AuthError::MissingToken)
            .map_err(|e| to_status(ServiceError::from(e)))?;
        let principal = self.tokens.authenticate(token).map_err(|e| to_status(ServiceError::from(e)))?;
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// The principal the interceptor attached to a request.
pub(crate) fn principal<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| to_status(ServiceError::from(AuthError::MissingToken)))
}

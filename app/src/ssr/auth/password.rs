//! Password hashes: Argon2id (the crate's defaults: 19 MiB, 2 passes), run
//! on the blocking pool so a sign-in never stalls the async threads, and at
//! on half the cores at most, so a flood of sign-ins cannot take every core.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// Half the cores (at least one): on two cores a flood of sign-ins then
/// leaves one core to ingest and reads (two hashes at once halved ingest
/// under `make load`'s sign-in flood).
fn permits() -> &'static Semaphore {
    static P: OnceLock<Semaphore> = OnceLock::new();
    P.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Semaphore::new((cores / 2).max(1))
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|_| AppError::Internal("password hashing stopped".into()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// The PHC string (`$argon2id$v=19$…`) of `password` with a random salt.
pub async fn hash(password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    blocking(move || {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        let salt =
            SaltString::encode_b64(&bytes).map_err(|e| AppError::Internal(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("password hash: {e}")))
    })
    .await?
}

/// Whether `password` matches `phc`; an unreadable hash matches nothing.
pub async fn verify(password: &str, phc: &str) -> Result<bool, AppError> {
    let password = password.to_owned();
    let phc = phc.to_owned();
    blocking(move || {
        PasswordHash::new(&phc)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

/// A hash to check against when the user does not exist, so that the answer
/// takes as long as for a real user.
pub async fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(d) = DUMMY.get() {
        return d;
    }
    let h = hash("no such user, no such password")
        .await
        .unwrap_or_default();
    DUMMY.get_or_init(|| h)
}

//! Secrets every server of one deployment must share (several servers
//! behind a load balancer must agree on them), kept in the platform
//! database: the first server to ask makes one, and every server then reads
//! that one.

use crate::db::Pool;

/// The secret called `name`, as 64 hex digits (32 random bytes), made and
/// stored on first use. Two servers asking at once both read the one that
/// was stored first.
pub async fn shared_secret(pool: &Pool, name: &str) -> Result<String, sqlx::Error> {
    let fresh: String = rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sqlx::query(
        "INSERT INTO platform_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&fresh)
    .execute(pool)
    .await?;
    sqlx::query_scalar("SELECT value FROM platform_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// The secret called `name` as the 32 bytes it was made from.
pub async fn shared_key(pool: &Pool, name: &str) -> Result<[u8; 32], sqlx::Error> {
    let hex = shared_secret(pool, name).await?;
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = std::str::from_utf8(pair)
            .ok()
            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            .unwrap_or_default();
    }
    Ok(key)
}

/// The name that keeps this deployment's keys apart in a Redis it may
/// share with others (16 hex digits).
pub async fn deployment_name(pool: &Pool) -> Result<String, sqlx::Error> {
    let secret = shared_secret(pool, "deployment").await?;
    Ok(secret[..16].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_is_made_once_and_then_read() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        let first = shared_secret(&pool, "demo-jwt").await.unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(shared_secret(&pool, "demo-jwt").await.unwrap(), first);
        assert_ne!(shared_secret(&pool, "other").await.unwrap(), first);
        assert_eq!(deployment_name(&pool).await.unwrap().len(), 16);
        let key = shared_key(&pool, "demo-jwt").await.unwrap();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, first, "the key is the secret's bytes");
    }
}

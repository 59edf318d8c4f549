//! Password hashing (argon2id, PHC strings) and the configurable password policy.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use dwt_core::config::PasswordPolicy;

use crate::CoreError;

/// argon2id with the crate's defaults (19 MiB, t=2, p=1: OWASP's minimum recommendation).
pub fn hash(password: &str) -> Result<String, CoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Config(format!("密码哈希失败：{e}")))
}

/// Constant-time verification against a stored PHC string; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// [`hash`] on the blocking pool: argon2 takes tens of milliseconds of CPU and must not stall
/// the async workers serving chat and SSE.
pub async fn hash_async(password: String) -> Result<String, CoreError> {
    tokio::task::spawn_blocking(move || hash(&password)).await.map_err(|e| CoreError::Config(format!("密码哈希失败：{e}")))?
}

/// [`verify`] on the blocking pool.
pub async fn verify_async(password: &str, stored: &str) -> bool {
    let (p, s) = (password.to_string(), stored.to_string());
    tokio::task::spawn_blocking(move || verify(&p, &s)).await.unwrap_or(false)
}

/// A real hash of a random password, verified against when the username is unknown so that
/// response time does not tell whether an account exists.
pub fn dummy_hash() -> String {
    hash(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default()
}

/// Well-known passwords (international and common Chinese choices), compared lower-cased.
const COMMON: &[&str] = &[
    "123456", "1234567", "12345678", "123456789", "1234567890", "111111", "000000", "888888", "666666", "123123", "654321", "112233",
    "password", "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwerty123", "qwertyuiop", "abc123", "abc123456",
    "a123456", "a12345678", "aa123456", "aa12345678", "a1b2c3d4", "admin", "admin123", "admin@123", "admin888", "root", "root123",
    "iloveyou", "woaini", "woaini1314", "5201314", "1314520", "521521", "letmein", "welcome", "welcome1", "monkey", "dragon", "sunshine",
    "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "zxcvbnm", "asdfghjkl", "qazwsx", "test123", "test1234", "changeme", "superman", "football",
    "dangyuan", "dangjian", "gongchandang", "zhongguo", "china123", "beijing", "p@ssw0rd123", "passw0rd!", "abcd1234", "abcd@1234",
];

/// All policy violations, in Chinese, or Ok.
pub fn check(policy: &PasswordPolicy, password: &str, username: &str) -> Result<(), CoreError> {
    let mut problems = Vec::new();
    let len = password.chars().count();
    if len < policy.min_length {
        problems.push(format!("长度至少 {} 位", policy.min_length));
    }
    if len > 128 {
        problems.push("长度不能超过 128 位".to_string());
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < policy.min_classes {
        problems.push(format!("须包含小写字母、大写字母、数字、符号中的至少 {} 类", policy.min_classes));
    }
    let lower = password.to_lowercase();
    if policy.reject_common && COMMON.iter().any(|c| lower == *c || lower.trim_end_matches(|ch: char| ch.is_ascii_digit() || "!@#.".contains(ch)) == *c && c.len() >= 6) {
        problems.push("不能使用常见的弱密码".to_string());
    }
    let user = username.trim().to_lowercase();
    if user.len() >= 3 && lower.contains(&user) {
        problems.push("不能包含用户名".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CoreError::invalid("auth.password_policy", format!("新密码不符合要求：{}", problems.join("；"))))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("Dwt#Demo2026").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("Dwt#Demo2026", &h));
        assert!(!verify("Dwt#Demo2027", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn policy_lists_every_problem() {
        let p = PasswordPolicy { min_length: 8, min_classes: 3, max_age_days: 0, history: 0, reject_common: true };
        let e = check(&p, "abc", "zhang").unwrap_err();
        assert_eq!(e.code(), "auth.password_policy");
        let msg = e.to_string();
        assert!(msg.contains("至少 8 位") && msg.contains("至少 3 类"), "{msg}");
        assert!(check(&p, "Password123", "zhang").unwrap_err().to_string().contains("常见"));
        assert!(check(&p, "P@ssw0rd", "zhang").unwrap_err().to_string().contains("常见"));
        assert!(check(&p, "Zhang#2026x", "zhang").unwrap_err().to_string().contains("用户名"));
        assert!(check(&p, "Hx7#kq2Lm", "zhang").is_ok());
        let admin = PasswordPolicy { min_length: 12, min_classes: 4, max_age_days: 90, history: 5, reject_common: true };
        assert!(check(&admin, "Hx7kq2Lmab9Z", "zhang").unwrap_err().to_string().contains("至少 4 类"));
        assert!(check(&admin, "Dwt#Demo2026", "sysadmin").is_ok());
    }
}

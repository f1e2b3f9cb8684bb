//! Who is acting, and how they proved it: accounts and their passwords,
//! access tokens, and the one gate every credential passes through.
//!
//! - [`gate`]: the [`gate::Authenticator`], which every login of every kind goes through;
//! - [`accounts`]: the [`accounts::Accounts`] service (and the first owner);
//! - [`tokens`]: the Auth API's [`tokens::AuthTokens`] service;
//! - [`access_tokens`]: what an access token is and when it is accepted;
//! - [`passwords`]: argon2id hashing, the bounded and cached Basic password check.

pub mod access_tokens;
pub mod accounts;
pub mod gate;
mod member;
pub mod passwords;
pub mod tokens;

pub use member::{AuthMethod, Member};

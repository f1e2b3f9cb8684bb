//! Who is acting, and how they proved it: accounts and their passwords,
//! access tokens, and the one gate every credential passes through.
//!
//! - [`gate`]: the [`gate::Authenticator`], which every login of every kind goes through;
//! - [`console_sessions`]: the web console's sign-in sessions and their CSRF tokens;
//! - [`accounts`]: the [`accounts::Accounts`] service (and the first owner);
//! - [`tokens`]: the Auth API's [`tokens::AuthTokens`] service;
//! - [`access_tokens`]: what an access token is and when it is accepted;
//! - [`passwords`]: argon2id hashing, the bounded and cached Basic password check;
//! - [`throttle`]: wrong passwords slow the guesser down, never the owner;
//! - [`last_use`]: when each token was last used, written in batches.

pub mod access_tokens;
pub mod accounts;
pub mod console_sessions;
pub mod gate;
pub mod last_use;
mod member;
pub mod passwords;
pub mod throttle;
pub mod tokens;

pub use member::{AuthMethod, Member};

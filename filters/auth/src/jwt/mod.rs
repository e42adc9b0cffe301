//! JSON Web Tokens: the tokens themselves ([`token`]: parsing, times, audience, signature),
//! their keys ([`jwks`], [`rs256`]), claims ([`claims`]), the providers that sign them
//! ([`config`] as operators write it, [`provider`] checked, [`admission`] of a verified token
//! under its provider), remote key sets ([`remote`]) and the tokens already verified
//! ([`verified`]).

pub mod admission;
pub mod claims;
pub mod config;
pub mod jwks;
pub mod provider;
pub mod remote;
pub mod rs256;
pub mod token;
pub mod verified;

pub use token::{JwtError, Token, Window, check_audience, check_times, parse, verify, window};

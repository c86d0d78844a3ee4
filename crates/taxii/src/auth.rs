//! Secrets: argon2id hashes at rest.

-- An idempotency key answers only for the request it was first used for: the digest of that
-- request (operation, target, body, actor) is kept beside the key. Rows from before have none,
-- and a repeat of such a key with a fingerprint is refused rather than guessed at.
ALTER TABLE commands ADD COLUMN fingerprint TEXT;

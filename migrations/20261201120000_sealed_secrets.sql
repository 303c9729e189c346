-- Sessions are now stored under the SHA-256 of their cookie's value, so the table holds
-- nothing a reader could present as a cookie. The sessions stored under their raw ids end
-- here: everyone signs in once more after this release. Authenticator secrets are sealed by
-- the portal at its next start, with the key in its key file.
delete from sessions;

-- Users, their sessions and their API tokens (package auth).
--
-- Like the alert tables, these tables are updated in place (passwords,
-- last_seen_at, last_used_at), so they carry no primary key or unique
-- index; package auth keeps user_id and login unique itself (one writer,
-- under a lock; tested). Secrets are never stored: passwords as argon2id
-- PHC strings, session cookies and API tokens as hex SHA-256.

CREATE SEQUENCE ops.user_ids;

-- One row per user. login: lower case, unique. role: admin, executive,
-- analyst, manager or employee. employee_id links the user to
-- staging.employees (required for managers and employees, who see only
-- their own people). password_hash: $argon2id$v=19$m=..,t=..,p=..$salt$key.
CREATE TABLE ops.users (
    user_id BIGINT NOT NULL DEFAULT nextval('ops.user_ids'),
    login VARCHAR NOT NULL,
    display_name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    employee_id VARCHAR,
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NOT NULL
);

-- Server-side sessions. session_hash: SHA-256 of the cookie's value. A
-- session ends at expires_at, or when unused for the idle timeout since
-- last_seen_at (refreshed at most once a minute); signing out deletes it.
CREATE TABLE ops.sessions (
    session_hash VARCHAR NOT NULL,
    user_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    client_ip VARCHAR,
    user_agent VARCHAR
);

CREATE SEQUENCE ops.api_token_ids;

-- Bearer tokens for scripts, shown once when made. token_hash: SHA-256 of
-- the token. name: unique per user among tokens not revoked. Revoking
-- keeps the row (revoked_at) for the record.
CREATE TABLE ops.api_tokens (
    token_id BIGINT NOT NULL DEFAULT nextval('ops.api_token_ids'),
    user_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

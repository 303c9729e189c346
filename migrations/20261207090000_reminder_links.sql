-- A reminder to someone who has never set a password carries a new link to create one: the
-- link's token, so that the day's other reminders (one per policy) do not void each other's.
alter table reminders add column token_id uuid references account_tokens (id) on delete set null;
create index reminders_token on reminders (token_id) where token_id is not null;

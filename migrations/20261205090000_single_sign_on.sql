-- Single sign-on: each school's OpenID provider, and the provider accounts people have linked.

create table school_sso (
    school_id uuid primary key references schools (id) on delete cascade,
    provider text not null check (provider in ('microsoft', 'google', 'oidc')),
    -- The issuer every ID token must name, exactly: for Microsoft, the tenant's own.
    issuer text not null check (issuer <> ''),
    -- Microsoft: the tenant's GUID. Google: the Workspace domain (the `hd` claim).
    tenant_id uuid,
    hosted_domain text,
    client_id text not null check (client_id <> '' and length(client_id) <= 400),
    -- Sealed with the portal's secret key, and never shown again.
    client_secret_sealed text not null,
    secret_expires_on date,
    -- The domains whose addresses may be linked by email, lower case.
    email_domains text[] not null default '{}',
    -- A generic provider's `amr`/`acr` showing multi-factor stand in for the portal's code.
    trust_provider_mfa boolean not null default false,
    updated_at timestamptz not null default now(),
    check ((provider = 'microsoft') = (tenant_id is not null)),
    check ((provider = 'google') = (hosted_domain is not null)),
    check (not trust_provider_mfa or provider = 'oidc')
);
create index school_sso_email_domains on school_sso using gin (email_domains);

-- A provider account, keyed as the provider means it to be: (issuer, oid) for Entra, whose
-- issuer names the tenant, so (tid, oid); (issuer, sub) for any other provider. Never the email.
create table sso_identities (
    issuer text not null,
    subject text not null,
    user_id uuid not null references users (id) on delete cascade,
    linked_at timestamptz not null default now(),
    primary key (issuer, subject)
);
create index sso_identities_user on sso_identities (user_id);

-- The statement editor's id for each item of a version's text, in order: editor metadata,
-- not part of what was signed or its hash, and frozen with the version once published.
alter table policy_versions add column block_ids text[] not null default '{}';

create or replace function policy_versions_guard() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        if old.status <> 'draft' then
            raise exception 'policy version % is %, and can no longer be deleted', old.id, old.status
                using errcode = 'integrity_constraint_violation';
        end if;
        return old;
    end if;
    if old.status = 'draft' then
        return new;
    end if;
    if old.status = 'published' and new.status = 'superseded'
        and (new.policy_id, new.school_id, new.label, new.title, new.body_md, new.acknowledgements,
             new.signature_fields, new.reviewed_on, new.next_review_due, new.reviewed_by,
             new.published_at, new.published_by, new.content_sha256, new.created_at, new.block_ids)
            is not distinct from
            (old.policy_id, old.school_id, old.label, old.title, old.body_md, old.acknowledgements,
             old.signature_fields, old.reviewed_on, old.next_review_due, old.reviewed_by,
             old.published_at, old.published_by, old.content_sha256, old.created_at, old.block_ids) then
        return new;
    end if;
    raise exception 'policy version % is %, and can no longer be changed', old.id, old.status
        using errcode = 'integrity_constraint_violation';
end;
$$;

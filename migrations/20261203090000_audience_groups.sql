-- A policy's audience names groups only, as a membership's group does: the portal reads
-- both as the same type, so the database holds both to the same words.
alter table policies add constraint policies_audience_groups
    check (audience <@ array['staff', 'governor', 'volunteer', 'external']::text[]);

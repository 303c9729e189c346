-- The sealer finds the schools with rows waiting by reading the whole queue, which is short,
-- and takes their rows by place in the table: each signature no longer writes an index
-- entry by school.
drop index seal_queue_school_idx;

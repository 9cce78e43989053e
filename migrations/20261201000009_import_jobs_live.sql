-- An import holds an advisory lock (class 7468, the job's id: import::JOB_LOCK_CLASS) while it
-- runs. A job left `running` by a process that stopped (the web server restarted during an
-- upload's import) holds none: this view calls it `interrupted`, so the admin does not show it
-- running for ever. Importing the same file into the list again resumes it.
CREATE VIEW import_jobs_live AS
SELECT j.*,
       CASE WHEN j.status = 'running' AND NOT EXISTS (
                SELECT 1 FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.classid = 7468 AND l.objid = j.id::int::oid AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
            THEN 'interrupted' ELSE j.status END AS live_status
FROM import_jobs j;

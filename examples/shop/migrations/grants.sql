-- Run after the migrations, every time (idempotent): the fleets' database users get data access, never DDL.
--
-- Each fleet logs in as its own user (IAM authentication; the stacks create one per web service and per queue's
-- workers) and is a member of the group role s2m_application; privileges go to the group only, so a new fleet needs
-- no change here. The runner (src/migrate.ts) creates the group if it does not exist yet.
GRANT USAGE ON SCHEMA public TO s2m_application;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO s2m_application;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO s2m_application;
-- The migrations' own bookkeeping is not the application's.
REVOKE ALL ON TABLE schema_migrations FROM s2m_application;
